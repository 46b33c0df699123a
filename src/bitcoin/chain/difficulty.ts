/**
 * The difficulty rules: which `nBits` the next header must carry (Bitcoin Core's
 * GetNextWorkRequired / CalculateNextWorkRequired, and Litecoin's variant).
 *
 * - Between retargets the bits stay those of the parent.
 * - At a retarget (height a multiple of the interval) the target scales by the time the last
 *   period took over the intended timespan, clamped to ×4 and ÷4, and capped at the pow limit.
 *   Bitcoin measures from the period's first block (interval − 1 blocks back: the off-by-one that
 *   permits the time warp), Litecoin from the block before it (except at the first retarget).
 *   BIP 94 (testnet4) scales the period's first block's target rather than the last one's.
 * - Testnet's 20-minute rule: off a retarget, a header more than twice the spacing after its parent
 *   may use the pow limit; otherwise it must carry the bits of the last block that did not use
 *   the rule (walking back to the period start).
 * - Regtest never retargets.
 */
import type { ChainParams } from './params.js';
import { bitsToTarget, targetToBits } from './target.js';

/** What the difficulty rules read of a header already in the chain. */
export interface HeaderLink {
  readonly height: number;
  readonly time: number;
  readonly bits: number;
  /** The parent, or undefined at genesis (or below a pruned window). */
  readonly parent: HeaderLink | undefined;
  /**
   * What testnet's walk-back returns from this header ({@link walkBackBits}), cached so the rule
   * costs O(1) and needs no ancestor. Without it the rule walks the parent links.
   */
  readonly walkBackBits?: number | undefined;
}

/**
 * The bits the 20-minute rule's walk-back finds starting at a header with these fields: its own
 * bits, unless it used the rule (pow-limit bits off a period start), then its parent's answer.
 */
export function walkBackBits(
  params: ChainParams,
  height: number,
  bits: number,
  parent: HeaderLink | undefined,
): number | undefined {
  if (parent === undefined || height % params.retargetInterval === 0 || bits !== powLimitBits(params)) {
    return bits;
  }
  return parent.walkBackBits ?? walkBack(params, parent);
}

function walkBack(params: ChainParams, from: HeaderLink): number | undefined {
  const limitBits = powLimitBits(params);
  let l: HeaderLink = from;
  while (l.parent !== undefined && l.height % params.retargetInterval !== 0 && l.bits === limitBits) {
    if (l.walkBackBits !== undefined) return l.walkBackBits;
    l = l.parent;
  }
  // Stopped only because the window ends: the answer lies below it.
  if (l.parent === undefined && l.height % params.retargetInterval !== 0 && l.bits === limitBits)
    return undefined;
  return l.bits;
}

const limitBitsCache = new WeakMap<ChainParams, number>();

/** The compact form of the network's pow limit (the bits of a minimum-difficulty block), cached per params. */
function powLimitBits(params: ChainParams): number {
  let bits = limitBitsCache.get(params);
  if (bits === undefined) {
    bits = targetToBits(params.powLimit);
    limitBitsCache.set(params, bits);
  }
  return bits;
}

/** The ancestor of `link` at `height`, or undefined when it is not reachable. */
export function ancestorAt(link: HeaderLink, height: number): HeaderLink | undefined {
  let l: HeaderLink | undefined = link;
  while (l !== undefined && l.height > height) l = l.parent;
  return l !== undefined && l.height === height ? l : undefined;
}

/**
 * The bits a header on top of `parent` with time `time` must carry, or undefined when an
 * ancestor the rule needs is not reachable (below a pruned window).
 */
export function nextBitsRequired(params: ChainParams, parent: HeaderLink, time: number): number | undefined {
  const limitBits = powLimitBits(params);
  const interval = params.retargetInterval;
  const height = parent.height + 1;
  if (height % interval !== 0) {
    if (!params.allowMinDifficultyBlocks) return parent.bits;
    if (time > parent.time + 2 * params.targetSpacingS) return limitBits;
    // The last block that did not use the 20-minute rule, or the period's first block.
    return parent.walkBackBits ?? walkBack(params, parent);
  }
  if (params.noRetargeting) return parent.bits;
  const back = params.fullPeriodRetarget && height !== interval ? interval : interval - 1;
  const first = ancestorAt(parent, parent.height - back);
  if (first === undefined) return undefined;
  // BIP 94: the period's first block (the same block as `first` on a Bitcoin network).
  const base = params.enforceBip94 ? ancestorAt(parent, height - interval) : parent;
  if (base === undefined) return undefined;
  return retarget(params, base.bits, parent.time - first.time);
}

/**
 * The bits after a retarget: `baseBits`' target times `actualTimespanS` (clamped to a quarter and
 * four times the intended timespan) over the intended timespan, capped at the pow limit.
 */
export function retarget(params: ChainParams, baseBits: number, actualTimespanS: number): number {
  const span = params.targetTimespanS;
  const actual = Math.min(Math.max(actualTimespanS, Math.floor(span / 4)), span * 4);
  let target = (bitsToTarget(baseBits).target * BigInt(actual)) / BigInt(span);
  if (target > params.powLimit) target = params.powLimit;
  return targetToBits(target);
}
