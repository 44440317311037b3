// ReDoc for Keel's OpenAPI document. A file of its own: the page's CSP allows no inline script.
"use strict";
window.addEventListener("load", function () {
  Redoc.init(
    "/api/schema/",
    {
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
