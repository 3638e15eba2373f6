"""The blueprint editor (BP-04, BP-12, BP-20): the graph of a blueprint drawn in the browser.

`graph` checks a drawing (unreachable states, states with no way out) without the database;
`services` reads a blueprint as a graph and saves a drawn graph through the configuration
services (`blueprints.services`), all or nothing; `views` are the page and its JSON."""
