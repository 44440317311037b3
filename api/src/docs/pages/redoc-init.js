// ReDoc for Keel's OpenAPI document. A file of its own: the page's CSP allows no inline script.
"use strict";
window.addEventListener("load", function () {
  Redoc.init(
    "/api/schema/",
    {
      // Search runs in a Web Worker made from a blob: URL, which the page's CSP forbids
      // (script-src 'self'); the sidebar lists every operation and Swagger UI has a filter.
      disableSearch: true,
      expandResponses: "200,201",
      jsonSampleExpandLevel: 3,
      hideDownloadButton: false,
      pathInMiddlePanel: true,
      requiredPropsFirst: true,
      sortTagsAlphabetically: false,
    },
    document.getElementById("redoc"),
  );
});
