"""The console's pages, one module per area: public (lookup, battery page), sign-in, dashboard, console."""
