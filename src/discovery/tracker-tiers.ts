/**
 * BEP 12 multi-tracker order: the tiers of `announce-list`, each shuffled once when read, tried
 * tier by tier and URL by URL; a tracker that answers moves to the front of its tier.
 */

/** One tracker's place in the tier list. */
export interface TierEntry {
  readonly url: string;
  readonly tier: number;
}

/** The BEP 12 tier list of one torrent. */
export class TrackerTierList {
  readonly #tiers: string[][];

  /**
   * @param tiers `announce-list` (or `[[announce]]`); empty tiers and duplicate URLs are dropped.
   * @param random uniform in [0, 1), for the one-time shuffle of each tier.
   */
  constructor(tiers: readonly (readonly string[])[], random: () => number) {
    const seen = new Set<string>();
    this.#tiers = [];
    for (const tier of tiers) {
      const t = tier.filter((u) => {
        if (seen.has(u)) return false;
        seen.add(u);
        return true;
      });
      // Fisher–Yates.
      for (let i = t.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [t[i], t[j]] = [t[j]!, t[i]!];
      }
      if (t.length > 0) this.#tiers.push(t);
    }
  }

  /** The order to try trackers in now. */
  order(): TierEntry[] {
    const out: TierEntry[] = [];
    this.#tiers.forEach((t, tier) => {
      for (const url of t) out.push({ url, tier });
    });
    return out;
  }

  /** Every tracker, in order. */
  get urls(): string[] {
    return this.#tiers.flat();
  }

  /** The current tiers (copies). */
  get tiers(): string[][] {
    return this.#tiers.map((t) => [...t]);
  }

  /** BEP 12: the tracker answered, so it moves to the front of its tier. */
  promote(url: string): void {
    for (const t of this.#tiers) {
      const i = t.indexOf(url);
      if (i > 0) {
        t.splice(i, 1);
        t.unshift(url);
      }
      if (i >= 0) return;
    }
  }
}
