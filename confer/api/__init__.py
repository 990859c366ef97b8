"""The JSON API (/api/v1): routes over the same services as the pages, and its OpenAPI document."""
