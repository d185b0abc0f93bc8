// The floor: forwards every call to the origin with no check at all.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const target = env.ORIGIN_URL + url.pathname.replace(/^\/scim\/v2/, "") + url.search;
    const headers = new Headers(request.headers);
    headers.set("authorization", env.ORIGIN_AUTHORIZATION);
    return fetch(target, { method: request.method, headers, body: request.body, redirect: "manual" });
  },
};
