// The leak scan. Every secret and query string the tests hand out is
// registered; the places that must never hold one (the edge's log lines,
// the URL and headers an origin receives, the CLI's output) are searched
// for each. Secrets are matched in any case: a lowercased key is still a
// key (its checksum narrows the casings down to a few hundred).
// A finding names the secret's kind and where it was seen, never the
// secret itself, so a failing run does not leak it into CI logs either.

/** Shorter values would match innocent text (a status code, `count=100`), so they are not registered. */
export const MIN_LENGTH = 8;

/** How a value looks inside a JSON string (every audit line is JSON): `"` becomes `\"`. */
const jsonEscaped = (text) => JSON.stringify(text).slice(1, -1);

/** A query fragment as sent and as a server would decode it (`%XX`, and `+` as a space). */
function decodings(text) {
  const forms = new Set([text]);
  for (const candidate of [text, text.replace(/\+/g, " ")]) {
    try {
      forms.add(decodeURIComponent(candidate));
    } catch {
      // A malformed escape: the raw form is still searched.
    }
  }
  return forms;
}

/** Where a log entry is, by its audit fields (request id, reason) if it is an audit line. */
function describeLogLine({ level, message }) {
  try {
    const line = JSON.parse(message);
    if (line && typeof line === "object" && "reason" in line) {
      return `the log line of request ${line.request_id} (level ${level}, reason ${line.reason})`;
    }
  } catch {
    // Not JSON: described by its level only, since its text may be the leak.
  }
  return `a log line at level ${level} that is not an audit line`;
}

/** The commands whose output may show the secret they create, and its kind. */
export const SHOWN_BY = { "key mint": "minted key", "key rotate": "minted key", "token mint": "minted token" };
/** What a secret of each kind looks like: its label and prefix, and its shape for secret scanners. */
const SHAPES = {
  "minted key": { label: "key", prefix: "pvk_", shape: /pvk_[0-9A-Za-z]{49}/ },
  "minted token": { label: "token", prefix: "pvm_", shape: /pvm_[0-9A-Za-z]{49}/ },
};

/**
 * The secret `command` ("key mint", …) shows — on its own line
 * (`key:    pvk_…`, `token:  pvm_…`) or as the `key`/`token` field of its
 * JSON answer — cut out of its output, with the kind it is; any other
 * command shows none.
 */
export function withoutShownSecrets(output, command) {
  const kind = SHOWN_BY[command];
  const shown = [];
  if (!kind) return { kind, shown, rest: output };
  const { label, prefix } = SHAPES[kind];
  const cut = (_, secret) => (shown.push(secret), `<${label} shown once>`);
  const rest = output
    .replace(new RegExp(`^${label}:\\s+(${prefix}\\S+)[ \\t]*$`, "gm"), (m, secret) => `${label}: ${cut(m, secret)}`)
    .replace(new RegExp(`"${label}":"(${prefix}[^"]*)"`, "g"), (m, secret) => `"${label}":"${cut(m, secret)}"`);
  return { kind, shown, rest };
}

/** The lines of a mint's output that show its key, cut out (see withoutShownSecrets). */
export function withoutShownKeys(output) {
  const { shown, rest } = withoutShownSecrets(output, "key mint");
  return { keys: shown, rest };
}

/** Findings for text shaped like a key or token, registered or not (what a secret scanner matches). */
/**
 * The OAuth credentials' shapes (docs/oauth.md): none may appear in a log
 * line or anything an origin receives, whether or not a test registered it.
 */
export const OAUTH_SHAPES = {
  "access token": /pva_[A-Za-z0-9_-]{59,}\.[A-Za-z0-9_-]{43}/,
  "authorization code": /pvc_[A-Za-z0-9_-]{59,}\.[A-Za-z0-9_-]{43}/,
  "refresh token": /pvr_[0-9A-Za-z]{49}/,
};

/** The OAuth credential kinds whose shape `text` holds. */
export const oauthShapesIn = (text) => Object.entries(OAUTH_SHAPES).filter(([, shape]) => shape.test(text)).map(([kind]) => `text shaped like an OAuth ${kind}`);

export function secretShapes(text, where) {
  return Object.entries(SHAPES)
    .filter(([, { shape }]) => shape.test(text))
    .map(([kind]) => `text shaped like a ${kind.replace("minted ", "")} in ${where}`);
}

export function createLeakRegistry() {
  /** [{ kind, forms }]: each registered value with the spellings searched for. */
  const needles = [];
  const known = new Set();
  /** What was registered and scanned, for the summary line of a run. */
  const counts = { secrets: 0, queryFragments: 0, logLines: 0, originRequests: 0, texts: 0 };

  function add(kind, value) {
    if (typeof value !== "string" || value.length < MIN_LENGTH) return;
    const id = `${kind}\u0000${value}`;
    if (known.has(id)) return;
    known.add(id);
    counts[kind === "query string" ? "queryFragments" : "secrets"] += 1;
    const caseless = kind !== "query string";
    const forms = [...new Set([value, jsonEscaped(value)])];
    needles.push({ kind, caseless, forms: caseless ? forms.map((f) => f.toLowerCase()) : forms });
  }

  /** The kinds of the registered values found in `text`, except `allowed` kinds. */
  function kindsIn(text, allowed = []) {
    const found = new Set();
    const lower = text.toLowerCase();
    for (const { kind, caseless, forms } of needles) {
      const haystack = caseless ? lower : text;
      if (!allowed.includes(kind) && !found.has(kind) && forms.some((f) => haystack.includes(f))) found.add(kind);
    }
    return [...found];
  }

  return {
    /**
     * A secret of `kind` ("minted key", "pepper", "origin credential", …).
     * An `Authorization`-style value (`Bearer abc…`) also registers its credential alone.
     */
    secret(kind, value) {
      add(kind, value);
      const credential = typeof value === "string" ? value.match(/^[A-Za-z][\w-]*\s+(\S.*)$/)?.[1] : undefined;
      add(kind, credential);
    },

    /** The query string of a request (without `?`): whole, and each parameter's value, raw and decoded. */
    query(query) {
      if (!query) return;
      for (const form of decodings(query)) add("query string", form);
      for (const pair of query.split("&")) {
        const [, value] = pair.match(/^[^=]*=(.*)$/) ?? [];
        if (value) for (const form of decodings(value)) add("query string", form);
      }
    },

    /** Findings in the edge's structured log entries (`{ level, message }`). */
    scanLogs(entries) {
      counts.logLines += entries.length;
      return entries.flatMap((entry) => [...kindsIn(String(entry.message ?? "")), ...oauthShapesIn(String(entry.message ?? ""))].map((kind) => `${kind} in ${describeLogLine(entry)}`));
    },

    /**
     * Findings in what origins received: `[{ method, path, headers: [[name, value], …] }]`,
     * `path` being the request target (path and query). The origin credential is meant for
     * the origin, and the query string is forwarded by design; nothing else registered is.
     */
    scanOriginHeaders(requests) {
      counts.originRequests += requests.length;
      const allowed = ["origin credential", "query string"];
      return requests.flatMap(({ method, path, headers }) => {
        const inUrl = [...kindsIn(path, allowed), ...oauthShapesIn(path)];
        // A finding never quotes the path when the path is the leak.
        const request = inUrl.length ? `${method} (path withheld)` : `${method} ${path.split("?")[0]}`;
        return [
          ...inUrl.map((kind) => `${kind} in the URL of a ${method} request the origin received`),
          ...headers.flatMap(([name, value]) =>
            [...kindsIn(`${name}: ${value}`, allowed), ...oauthShapesIn(`${name}: ${value}`)].map((kind) => `${kind} in header "${String(name).toLowerCase()}" the origin received with ${request}`),
          ),
        ];
      });
    },

    /** Findings in free text (the CLI's output), described as `where`. */
    scanText(text, where) {
      counts.texts += 1;
      return kindsIn(text).map((kind) => `${kind} in ${where}`);
    },

    /** How many values are registered and how much was scanned so far. */
    counts: () => ({ ...counts }),
  };
}

/** Throws one error listing the findings (which never quote a secret). */
export function assertNoLeaks(findings) {
  if (findings.length > 0) {
    throw new Error(`secret leak (${findings.length}):\n- ${[...new Set(findings)].join("\n- ")}`);
  }
}
