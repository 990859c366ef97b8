"""Sign-in with an OpenID Connect provider (issue #26): config, client, service, pages."""
