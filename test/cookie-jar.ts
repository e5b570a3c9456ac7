/**
 * A test client's cookie jar: applies a response's Set-Cookie lines to `jar` (name → value), a
 * `Max-Age` of 0 or less deleting the cookie, as a browser would.
 */
export function keepSetCookies(jar: Map<string, string>, setCookies: string[]): void {
  for (const line of setCookies) {
    const [pair = "", ...attributes] = line.split(";");
    const eq = pair.indexOf("=");
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    const maxAge = attributes.find((a) => /^\s*max-age=/i.test(a));
    if (maxAge && Number(maxAge.split("=")[1]) <= 0) jar.delete(name);
    else jar.set(name, pair.slice(eq + 1).trim());
  }
}
