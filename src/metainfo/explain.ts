/**
 * Plain-words descriptions of why bytes are not a usable .torrent file, for people (the CLI's
 * error line, the daemon's 400 answer). The codes stay on the errors; this only words them.
 */
import { BencodeError } from '../codec/index.js';
import { ErrorCode, isShoalError } from '../shared/errors.js';

/**
 * Why `parseTorrent` refused the bytes, in plain words: what is wrong and, for malformed
 * bencode, where. Any other error gives its message.
 */
export function explainTorrentError(e: unknown): string {
  if (e instanceof BencodeError) {
    const at = e.offset >= 0 ? ` at byte ${e.offset}` : '';
    switch (e.code) {
      case ErrorCode.BencodeUnexpectedEnd:
        return `truncated: the data ends in the middle of a value${at} (an incomplete download?)`;
      case ErrorCode.BencodeInvalidByte:
        return e.offset === 0
          ? 'not a torrent file: a .torrent is a bencoded dictionary, which starts with "d"'
          : `damaged: ${e.message} is not valid bencode`;
      case ErrorCode.BencodeTrailingData:
        return `damaged: extra bytes after the torrent's data${at} (two files joined?)`;
      case ErrorCode.BencodeTooDeep:
      case ErrorCode.BencodeTooManyItems:
        return `too complex to be a torrent: ${e.message}`;
      default:
        return `damaged: ${e.message} is not valid bencode`;
    }
  }
  if (isShoalError(e)) {
    switch (e.code) {
      case ErrorCode.MetainfoTooLarge:
        return `larger than Shoal accepts: ${e.message}`;
      case ErrorCode.MetainfoUnsafePath:
        return `unsafe file path: ${e.message}`;
      case ErrorCode.MetainfoPieceLayers:
        return `bad v2 piece layers: ${e.message}`;
      default:
        return `not a valid torrent: ${e.message}`;
    }
  }
  return e instanceof Error ? e.message : String(e);
}
