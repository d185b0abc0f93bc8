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

/**
 * The lines of CLI output that show a freshly minted key (`key:    pvk_…`),
 * removed from the text that is scanned, and the keys they show.
 */
export function withoutShownKeys(output) {
  const keys = [];
  const rest = output.replace(/^key:\s+(pvk_\S+)[ \t]*$/gm, (_, key) => {
    keys.push(key);
    return "key: <shown once>";
  });
  return { keys, rest };
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
      return entries.flatMap((entry) => kindsIn(String(entry.message ?? "")).map((kind) => `${kind} in ${describeLogLine(entry)}`));
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
        const inUrl = kindsIn(path, allowed);
        // A finding never quotes the path when the path is the leak.
        const request = inUrl.length ? `${method} (path withheld)` : `${method} ${path.split("?")[0]}`;
        return [
          ...inUrl.map((kind) => `${kind} in the URL of a ${method} request the origin received`),
          ...headers.flatMap(([name, value]) =>
            kindsIn(`${name}: ${value}`, allowed).map((kind) => `${kind} in header "${String(name).toLowerCase()}" the origin received with ${request}`),
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
