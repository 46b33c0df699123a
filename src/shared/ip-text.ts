/**
 * The text form of IPv6 addresses (RFC 5952), shared by every layer that prints one: the DHT,
 * the wire's compact peers, trackers and the connection layer. Pure.
 */

/**
 * RFC 5952 text of the 16 bytes at `offset`: lowercase hex groups without leading zeros, the
 * longest run of two or more zero groups (the first on a tie) written `::`. IPv4-mapped
 * addresses stay in hex (`::ffff:c000:201`); {@link formatIpv6} writes them dotted.
 */
export function formatIpv6Groups(bytes: Uint8Array, offset = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((bytes[offset + 2 * i]! << 8) | bytes[offset + 2 * i + 1]!);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

/**
 * RFC 5952 text of the 16 bytes at `offset`, with IPv4-mapped addresses written
 * `::ffff:a.b.c.d` (RFC 5952 §5), as a dual-stack socket reports an IPv4 peer.
 */
export function formatIpv6(bytes: Uint8Array, offset = 0): string {
  let mapped = bytes[offset + 10] === 0xff && bytes[offset + 11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) if (bytes[offset + i] !== 0) mapped = false;
  if (!mapped) return formatIpv6Groups(bytes, offset);
  const at = offset + 12;
  return `::ffff:${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
}
