// Starts GraphiQL on /graphql. Served by kpi-ledger itself, like every asset of the page.
(function () {
  var fetcher = GraphiQL.createFetcher({ url: "/graphql" });
  var defaultHeaders = JSON.stringify(
    { Authorization: "Bearer <token from `kpi-ledger token issue`>" },
    null,
    2
  );
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultHeaders: defaultHeaders,
      shouldPersistHeaders: true,
      defaultEditorToolsVisibility: "headers",
    })
  );
})();
