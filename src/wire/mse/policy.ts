/**
 * How Shoal's encryption policies map onto MSE parameters: what to dial, in which order, and
 * what to accept. The connection layer reads a {@link MsePolicyPlan}; the state machines only
 * see method sets.
 *
 * | policy     | dial attempts, in order                  | accept plaintext BT | accept MSE (select)        |
 * |------------|------------------------------------------|---------------------|----------------------------|
 * | `disabled` | plaintext                                | yes                 | no                         |
 * | `enabled`  | plaintext, then MSE offering both        | yes                 | both (plaintext preferred) |
 * | `prefer`   | MSE offering both, then plaintext        | yes                 | both (RC4 preferred)       |
 * | `require`  | MSE offering RC4 only                    | no                  | RC4 only                   |
 */
import type { MseMethod, MseMethodSet } from './handshake.js';

/** Shoal's encryption policy for peer connections. */
export type MsePolicy = 'disabled' | 'enabled' | 'prefer' | 'require';

/** One way to open a connection: a plaintext BitTorrent handshake, or MSE offering `provide`. */
export type MseDialAttempt =
  | { readonly kind: 'plaintext' }
  | { readonly kind: 'mse'; readonly provide: MseMethodSet };

/** What a policy means for the connection layer. */
export interface MsePolicyPlan {
  readonly policy: MsePolicy;
  /** Outgoing attempts in order: the next is tried when the previous one's handshake fails. */
  readonly dial: readonly MseDialAttempt[];
  /** Whether an incoming plaintext BitTorrent handshake is accepted. */
  readonly acceptPlaintext: boolean;
  /** How incoming MSE is answered (the responder's `allow` and `prefer`), or undefined to refuse it. */
  readonly accept: { readonly allow: MseMethodSet; readonly prefer: MseMethod } | undefined;
}

const BOTH: MseMethodSet = Object.freeze({ plaintext: true, rc4: true });
const RC4_ONLY: MseMethodSet = Object.freeze({ plaintext: false, rc4: true });

const PLANS: Readonly<Record<MsePolicy, MsePolicyPlan>> = Object.freeze({
  disabled: Object.freeze({
    policy: 'disabled',
    dial: Object.freeze([{ kind: 'plaintext' }] as const),
    acceptPlaintext: true,
    accept: undefined,
  }),
  enabled: Object.freeze({
    policy: 'enabled',
    dial: Object.freeze([{ kind: 'plaintext' }, { kind: 'mse', provide: BOTH }] as const),
    acceptPlaintext: true,
    accept: Object.freeze({ allow: BOTH, prefer: 'plaintext' } as const),
  }),
  prefer: Object.freeze({
    policy: 'prefer',
    dial: Object.freeze([{ kind: 'mse', provide: BOTH }, { kind: 'plaintext' }] as const),
    acceptPlaintext: true,
    accept: Object.freeze({ allow: BOTH, prefer: 'rc4' } as const),
  }),
  require: Object.freeze({
    policy: 'require',
    dial: Object.freeze([{ kind: 'mse', provide: RC4_ONLY }] as const),
    acceptPlaintext: false,
    accept: Object.freeze({ allow: RC4_ONLY, prefer: 'rc4' } as const),
  }),
});

/** The dial order and acceptance rules of `policy` (a shared, frozen object). */
export function msePolicyPlan(policy: MsePolicy): MsePolicyPlan {
  return PLANS[policy];
}
