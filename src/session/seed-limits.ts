/**
 * When a seeding torrent has given enough (Transmission's "stop seeding at ratio" and "stop
 * seeding if idle for N minutes"): the ratio is what it uploaded over what it downloaded (or over
 * its size when it seeded from its own data); idle means nothing uploaded for the idle limit.
 * A torrent that reaches a limit pauses, and says which (the `seed-limit` event).
 */

/** Seed limits as a session or a torrent sets them; 0 = no limit. */
export interface SeedLimits {
  /** Upload/download ratio at which seeding stops. */
  readonly ratio?: number;
  /** Time without any upload after which seeding stops, ms. */
  readonly idleMs?: number;
}

export type SeedLimitReason = 'ratio' | 'idle';

/** One torrent's seed limits, and the watch over them while it seeds. */
export class SeedLimitWatch {
  #lastUploaded = -1;
  #idleSince = 0;
  /** The torrent's own limits (undefined fields: the session's). */
  #own: SeedLimits;
  readonly #session: () => SeedLimits;

  constructor(own: SeedLimits, session: () => SeedLimits) {
    this.#own = { ...own };
    this.#session = session;
  }

  /** A torrent's watch, from its options (`seedRatioLimit`, `seedIdleLimitMs`). */
  static of(
    o: { readonly seedRatioLimit?: number; readonly seedIdleLimitMs?: number },
    session: () => SeedLimits,
  ): SeedLimitWatch {
    return new SeedLimitWatch(
      {
        ...(o.seedRatioLimit !== undefined ? { ratio: o.seedRatioLimit } : {}),
        ...(o.seedIdleLimitMs !== undefined ? { idleMs: o.seedIdleLimitMs } : {}),
      },
      session,
    );
  }

  /** The limits in force: the torrent's own, else the session's (0 = none). */
  current(): Required<SeedLimits> {
    const s = this.#session();
    return { ratio: this.#own.ratio ?? s.ratio ?? 0, idleMs: this.#own.idleMs ?? s.idleMs ?? 0 };
  }

  /** Sets the torrent's own limits (`undefined` fields: the session's again; 0: none). */
  set(limits: SeedLimits): void {
    this.#own = { ...limits };
  }

  /**
   * Called about once a second while seeding: returns the limit reached, if any. `uploaded` and
   * `downloaded` are the torrent's totals over every run; `size` its wanted bytes.
   */
  check(
    t: { readonly uploaded: number; readonly downloaded: number; readonly size: number },
    now: number,
  ): SeedLimitReason | undefined {
    const limits = this.current();
    if (t.uploaded !== this.#lastUploaded) {
      this.#lastUploaded = t.uploaded;
      this.#idleSince = now;
    }
    const ratioLimit = limits.ratio ?? 0;
    if (ratioLimit > 0 && ratio(t) >= ratioLimit) return 'ratio';
    const idle = limits.idleMs ?? 0;
    if (idle > 0 && now - this.#idleSince >= idle) return 'idle';
    return undefined;
  }

  /** Seeding (re)starts: idle time counts from now. */
  reset(now: number): void {
    this.#lastUploaded = -1;
    this.#idleSince = now;
  }
}

/** Upload ratio: uploaded over downloaded, or over the size when nothing was downloaded. */
export function ratio(t: {
  readonly uploaded: number;
  readonly downloaded: number;
  readonly size: number;
}): number {
  const base = t.downloaded > 0 ? t.downloaded : t.size;
  return base > 0 ? t.uploaded / base : 0;
}
