"""The one ClickHouse client of the product: chDB in-process, or a server over HTTP."""
