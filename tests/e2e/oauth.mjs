// OAuth helpers for the end-to-end suites: real client libraries as the
// IdP (tests/oauth/idp_client.py), token requests with full control, and
// SCIM calls with a credential. Every token, code and refresh token they
// see is registered with the leak scan.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import path from "node:path";
import { ROOT, raw } from "./harness.mjs";
import { leaks } from "./leak-watch.mjs";

const PYTHON = path.join(ROOT, ".venv/bin/python");
export const FORM = "application/x-www-form-urlencoded";
export const basic = (id, secret) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;
export const withModes = (...modes) => (record) => ({ ...record, auth_modes: modes });

/** Runs tests/oauth/idp_client.py; resolves its JSON answer, the tokens it got registered for the leak scan. */
export function idpClient(...args) {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [path.join(ROOT, "tests/oauth/idp_client.py"), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (status) => {
      if (status !== 0) return reject(new Error(`idp_client ${args[0]} exited ${status}: ${err.split("\n").slice(-3).join(" ")}`));
      const result = JSON.parse(out);
      for (const t of [result.token, result.refreshed]) {
        leaks.secret("access token", t?.access_token);
        leaks.secret("refresh token", t?.refresh_token);
      }
      leaks.secret("authorization code", new URL(result.location ?? "https://x/").searchParams.get("code") ?? undefined);
      resolve(result);
    });
  });
}

/** A token request with full control; the token in a success is registered for the leak scan. */
export async function tokenRequest(edge, { body, headers = {} }) {
  const res = await raw(`${edge.url}/oauth/token`, { method: "POST", headers: { "content-type": FORM, ...headers }, body });
  if (res.status === 200) {
    leaks.secret("access token", res.json().access_token);
    leaks.secret("refresh token", res.json().refresh_token);
  }
  return res;
}

/** PKCE (RFC 7636): a verifier and its S256 challenge. */
export function pkce(verifier = createHash("sha256").update(String(Math.random())).digest("base64url")) {
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

/**
 * The administrator's approval: the authorize page's form post of `key`
 * for the IdP's request `params` (to /oauth/approve, with the request's query). Resolves the answer; a code in its
 * Location is registered with the leak scan.
 */
export async function approve(edge, key, params) {
  // The request's public parameters (the client id is the key id, logged
  // as such) are not registered as query text; its state and challenge are.
  for (const name of ["state", "code_challenge"]) leaks.query(params[name] ? `${name}=${params[name]}` : undefined);
  const res = await fetch(`${edge.url}/oauth/approve?${new URLSearchParams(params)}`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": FORM },
    body: `key=${encodeURIComponent(key)}`,
  });
  const text = await res.text();
  const headers = Object.fromEntries(res.headers);
  const location = headers.location;
  if (location) leaks.secret("authorization code", new URL(location).searchParams.get("code") ?? undefined);
  return { status: res.status, headers, text, location: location ? new URL(location) : undefined };
}

export const scim = (edge, credential, p = "/Users") => raw(`${edge.base}${p}`, { headers: { authorization: `Bearer ${credential}` } });

