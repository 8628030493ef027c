//! The route table: every route the server answers, built once and read
//! twice — by the router, and by [`route_table`] for the tests that try
//! every route (a route added to the router is in the table by
//! construction).

use axum::Router;
use axum::routing::MethodRouter;

/// One served route: its methods and its path (axum syntax, `{param}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// The HTTP methods it answers.
    pub methods: &'static [&'static str],
    /// The path, with `{name}` for each path parameter.
    pub path: &'static str,
}

/// A router and the table of what it serves, built together.
pub(crate) struct Table<S> {
    router: Router<S>,
    routes: Vec<Route>,
}

impl<S: Clone + Send + Sync + 'static> Table<S> {
    pub(crate) fn new() -> Self {
        Self {
            router: Router::new(),
            routes: Vec::new(),
        }
    }

    /// Serves `path` with `handlers`, which answer exactly `methods`.
    pub(crate) fn route(
        mut self,
        path: &'static str,
        methods: &'static [&'static str],
        handlers: MethodRouter<S>,
    ) -> Self {
        self.router = self.router.route(path, handlers);
        self.routes.push(Route { methods, path });
        self
    }

    /// Adds every route of `other`.
    pub(crate) fn merge(mut self, other: Table<S>) -> Self {
        self.router = self.router.merge(other.router);
        self.routes.extend(other.routes);
        self
    }

    pub(crate) fn into_parts(self) -> (Router<S>, Vec<Route>) {
        (self.router, self.routes)
    }
}

/// Every route the server answers, the dashboard's included.
pub fn route_table() -> Vec<Route> {
    crate::routes::table().into_parts().1
}
