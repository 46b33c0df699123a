/**
 * Loads an IP blocklist from a file or from text (the parsing is ip-blocklist.ts). The file's
 * size is checked before it is read, so an oversized list costs no memory.
 */
import { open } from 'node:fs/promises';
import { ErrorCode, ShoalError } from '../shared/errors.js';
import { MAX_BLOCKLIST_BYTES } from '../shared/limits.js';
import { type ParsedBlocklist, parseBlocklist } from './ip-blocklist.js';

/** Where a blocklist comes from: a file (PeerGuardian `.p2p`, eMule `ipfilter.dat`, CIDR lines) or its text. */
export type BlocklistSource = { readonly path: string } | { readonly text: string };

/**
 * Reads and parses a blocklist. Rejects with `SHOAL_ERR_NET_BLOCKLIST` when the file cannot be
 * read or the list is past its bounds; malformed lines are in the report.
 */
export async function loadBlocklist(source: BlocklistSource): Promise<ParsedBlocklist> {
  if ('text' in source) return parseBlocklist(source.text);
  const { path } = source;
  let text: string;
  try {
    const file = await open(path, 'r');
    try {
      const { size } = await file.stat();
      if (size > MAX_BLOCKLIST_BYTES)
        throw new ShoalError(
          ErrorCode.NetBlocklist,
          `blocklist ${path} is ${size} bytes, more than ${MAX_BLOCKLIST_BYTES}`,
          { path, size },
        );
      // Latin-1 maps every byte to one character: the addresses are ASCII, and descriptions in
      // any encoding cannot make decoding fail.
      text = (await file.readFile()).toString('latin1');
    } finally {
      await file.close();
    }
  } catch (e) {
    if (e instanceof ShoalError) throw e;
    throw new ShoalError(
      ErrorCode.NetBlocklist,
      `cannot read blocklist ${path}: ${(e as Error).message}`,
      { path },
      { cause: e },
    );
  }
  return parseBlocklist(text);
}
