/**
 * One line per peer event, for `shoal download -v`, `shoal seed -v` and `shoal peer log`: who
 * connected (client, transport, encryption), who left or was refused and why, which piece failed
 * its hash check and who sent it, who was banned and on what evidence.
 */

/** A peer event as the library's peer log and the daemon's API give it. */
export interface PeerEventLike {
  /** ms since the epoch. */
  readonly at: number;
  readonly type: string;
  readonly address: string;
  readonly reason?: string | null | undefined;
  readonly client?: string | null | undefined;
  readonly transport?: string | null | undefined;
  readonly encrypted?: boolean | null | undefined;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** `HH:MM:SS` of a wall-clock time, local time. */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** The event in one line (see the module notes), starting with its time. */
export function formatPeerEvent(e: PeerEventLike): string {
  const why = e.reason ? `: ${e.reason}` : '';
  let text: string;
  switch (e.type) {
    case 'connected': {
      const how = [
        e.transport ?? undefined,
        e.encrypted === true ? 'encrypted' : e.encrypted === false ? 'plaintext' : undefined,
      ]
        .filter((x) => x !== undefined)
        .join(', ');
      text = `connected ${e.address}${e.client ? ` ${e.client}` : ''}${how ? ` (${how})` : ''}`;
      break;
    }
    case 'hash-failed':
      text = `hash failed${why || ': a piece'} (sent by ${e.address || 'unknown peers'})`;
      break;
    case 'banned':
      text = `banned ${e.address}${why}`;
      break;
    default:
      text = `${e.type} ${e.address}${why}`;
  }
  return `${clockTime(e.at)} peer ${text}`;
}
