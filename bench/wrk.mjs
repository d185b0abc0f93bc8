// One bounded wrk run (loopback only) and what it measured.
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export function parseWrk(out) {
  const rps = Number(out.match(/Requests\/sec:\s+([\d.]+)/)[1]);
  const requests = Number(out.match(/(\d+) requests in/)[1]);
  const ms = (label) => {
    const m = out.match(new RegExp(`\\s${label}%\\s+([\\d.]+)(us|ms|s)`));
    return m ? Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2]] : NaN;
  };
  const non2xx = Number(out.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
  return { rps, requests, p50: ms(50), p99: ms(99), non2xx };
}

/** `wrk -t2 -c<connections> (one thread for one connection) -d<seconds>s --latency` with the key as a Bearer credential. */
export async function wrk(url, key, { seconds, connections }) {
  const { stdout } = await run("wrk", [`-t${Math.min(2, connections)}`, `-c${connections}`, `-d${seconds}s`, "--latency", "-H", `Authorization: Bearer ${key}`, url], { timeout: (seconds + 30) * 1000 });
  return parseWrk(stdout);
}
