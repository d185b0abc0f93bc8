// Passes the identity provider's request (this page's query) on with the
// pasted key, and shows the administrator which key and which redirect it
// names, as text (never as markup).
"use strict";
(() => {
  const form = document.getElementById("authorize");
  form.action = "/oauth/approve" + window.location.search;
  const params = new URLSearchParams(window.location.search);
  const show = (id, value) => {
    if (value) document.getElementById(id).textContent = value;
  };
  show("client-id", params.get("client_id"));
  try {
    show("redirect-to", new URL(params.get("redirect_uri") ?? "").host);
  } catch {
    // Not a URL: the server refuses the request with its own page.
  }
})();
