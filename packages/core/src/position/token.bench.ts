import { expect, test } from "vitest";
import { judgePosition } from "./judge.ts";
import { parsePosition } from "./position.ts";
import {
  encodePositionToken,
  MAX_POSITION_ENTRIES,
  mergePosition,
  type PositionToken,
  readPositionToken,
} from "./token.ts";

const NOW = 1_800_000_000;
const others = "theme=dark; _ga=GA1.2.123456789.1234567890; session_hint=abc";
const opts = { secrets: ["k", "old"], ttlSeconds: 86_400, knownShards: ["s0", "s1", "s2", "s3"] };
const history = [{ timeline: 1, switchLsn: "0/3000060" }];

function token(n: number): PositionToken {
  let t: PositionToken | null = null;
  for (let i = 0; i < n; i++) {
    const p = parsePosition(`s${i}:2/0/${(0x3000100 + i).toString(16)}`);
    if (p) t = mergePosition(t, p, NOW - 60 + i);
  }
  return t ?? [];
}

test("readPositionToken + judgePosition per redirect", async ({ bench }) => {
  const one = `${others}; ryow_pos=${await encodePositionToken(token(1), "k")}`;
  const full = await encodePositionToken(token(MAX_POSITION_ENTRIES), "k");
  const fullOpts = { ...opts, knownShards: undefined };
  const forged = `${others}; ryow_pos=${(await encodePositionToken(token(1), "k")).slice(0, -2)}AA`;
  expect(await readPositionToken(one, null, NOW, opts)).toHaveLength(1);
  expect(await readPositionToken(null, full, NOW, fullOpts)).toHaveLength(MAX_POSITION_ENTRIES);

  await bench.compare(
    bench("no token (most redirects)", async () => {
      await readPositionToken(others, null, NOW, opts);
    }),
    bench("signed cookie, 1 entry, + judge", async () => {
      const [entry] = await readPositionToken(one, null, NOW, opts);
      if (entry) judgePosition(entry, history);
    }),
    bench(`signed header, ${MAX_POSITION_ENTRIES} entries`, async () => {
      await readPositionToken(null, full, NOW, fullOpts);
    }),
    bench("cookie and header (two HMAC verifies)", async () => {
      await readPositionToken(one, full, NOW, fullOpts);
    }),
    bench("bad signature", async () => {
      await readPositionToken(forged, null, NOW, opts);
    }),
  );
});
