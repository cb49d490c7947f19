"""The WTForms of the extension's pages, one module per capability."""
