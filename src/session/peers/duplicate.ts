/**
 * Two connections to one peer (ours has id `ourId`, the peer `theirId`): whether to keep the new
 * one (opened by us if `newOutgoing`) and close the existing one, or refuse the new one. Both
 * ends keep the connection opened by the end with the larger peer id, so they agree; when both
 * connections were opened by the same end, the existing one stays.
 */
export function keepsNewConnection(
  ourId: Uint8Array,
  theirId: Uint8Array,
  newOutgoing: boolean,
  existingOutgoing: boolean,
): boolean {
  const oursWins = Buffer.compare(ourId, theirId) > 0;
  return newOutgoing === oursWins && existingOutgoing !== oursWins;
}
