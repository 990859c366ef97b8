"""The site as a whole, rather than one conference: who may create conferences, and the
operator's pages (the accessibility statement) and footer links."""
