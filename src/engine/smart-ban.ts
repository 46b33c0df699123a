/**
 * Smart ban: blame for pieces that fail their hash check, on evidence only.
 *
 * A failed piece proves that at least one of its blocks is bad, not which: when several peers
 * contributed, striking them all punishes the honest ones too (one hostile peer could get an
 * honest seeder banned beside it). So a failure records the digest of every block and who sent
 * it, and bans nobody — except a sole sender, which is certainly guilty. The piece is then
 * fetched again, from one peer that did not contribute to the failure where one can serve it.
 * When a copy finally passes its hash, each recorded block is compared with the verified one:
 * a sender whose block differs sent bad data and is banned; the others are cleared.
 *
 * Senders are *blame ids* (the runtime uses the peer's IP address), so evidence survives a
 * reconnect and many connections from one address count as one peer.
 *
 * Bounded: at most {@link MAX_SMART_BAN_PIECES} failed pieces are remembered (the oldest record
 * goes first), and at most {@link MAX_SMART_BAN_BLOCKS} recorded blocks in all.
 */

/** Failed pieces whose block digests are kept until a copy passes. */
export const MAX_SMART_BAN_PIECES = 64;
/** Recorded (block, sender, digest) entries over all pieces (20-byte digests: ~1 MiB in all). */
export const MAX_SMART_BAN_BLOCKS = 16_384;

/** A digest of one block, and who sent it. */
export interface BlockEvidence {
  readonly sender: string | undefined;
  readonly digest: Uint8Array | undefined;
}

interface Entry {
  readonly block: number;
  readonly sender: string;
  readonly digest: Uint8Array;
}

/** The verdict once a piece with a record passed. */
export interface SmartBanVerdict {
  /** Senders of at least one block that differs from the verified data. */
  readonly guilty: string[];
  /** Senders whose every recorded block matched. */
  readonly cleared: string[];
}

export class SmartBan {
  /** Failed piece → recorded blocks (insertion order = age). */
  readonly #records = new Map<number, Entry[]>();
  #blocks = 0;

  /** Pieces with a record. */
  get size(): number {
    return this.#records.size;
  }

  /** Recorded blocks over all pieces. */
  get blockCount(): number {
    return this.#blocks;
  }

  /** True when piece `index` failed before and has not passed since. */
  has(index: number): boolean {
    return this.#records.has(index);
  }

  /** True when `sender` contributed to a recorded failure of piece `index`. */
  isContributor(index: number, sender: string): boolean {
    const r = this.#records.get(index);
    if (r === undefined) return false;
    for (const e of r) if (e.sender === sender) return true;
    return false;
  }

  /** Senders of a recorded failure of piece `index`. */
  contributors(index: number): Set<string> {
    return new Set((this.#records.get(index) ?? []).map((e) => e.sender));
  }

  /**
   * Piece `index` failed; `blocks[b]` is block b's sender and digest. Records what can be
   * compared later (a block without a sender or digest is skipped). A block sent identically
   * by the same sender twice is kept once.
   */
  onFailed(index: number, blocks: readonly BlockEvidence[]): void {
    let entries = this.#records.get(index);
    if (entries === undefined) {
      entries = [];
      this.#records.set(index, entries);
    } else {
      // Fresh evidence makes the record the youngest.
      this.#records.delete(index);
      this.#records.set(index, entries);
    }
    blocks.forEach((e, b) => {
      if (e.sender === undefined || e.digest === undefined) return;
      if (entries.some((x) => x.block === b && x.sender === e.sender && equal(x.digest, e.digest!))) return;
      entries.push({ block: b, sender: e.sender, digest: e.digest });
      this.#blocks++;
    });
    this.#trim();
  }

  /**
   * Piece `index` passed its hash; `digests[b]` is the verified block b's digest. Compares the
   * recorded blocks, forgets the record, and returns who is guilty and who is cleared.
   */
  onPassed(index: number, digests: readonly Uint8Array[]): SmartBanVerdict {
    const entries = this.#records.get(index);
    if (entries === undefined) return { guilty: [], cleared: [] };
    this.#forget(index);
    const guilty = new Set<string>();
    const seen = new Set<string>();
    for (const e of entries) {
      seen.add(e.sender);
      const good = digests[e.block];
      if (good !== undefined && !equal(good, e.digest)) guilty.add(e.sender);
    }
    return { guilty: [...guilty], cleared: [...seen].filter((s) => !guilty.has(s)) };
  }

  /** Drops the record of piece `index` (e.g. the piece is no longer wanted). */
  #forget(index: number): void {
    const entries = this.#records.get(index);
    if (entries === undefined) return;
    this.#records.delete(index);
    this.#blocks -= entries.length;
  }

  #trim(): void {
    while (this.#records.size > MAX_SMART_BAN_PIECES || this.#blocks > MAX_SMART_BAN_BLOCKS) {
      const oldest = this.#records.keys().next().value;
      if (oldest === undefined) return;
      this.#forget(oldest);
    }
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
