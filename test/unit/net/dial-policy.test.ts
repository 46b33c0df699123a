/** The transport order of a dial (src/net/dial-policy.ts): the policy, then what the address taught us. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dialOrder } from '../../../src/net/dial-policy.js';

test('dialOrder: policy × hints', () => {
  const rows: [Parameters<typeof dialOrder>[0], Parameters<typeof dialOrder>[1], string][] = [
    ['utp-first', {}, 'utp tcp'],
    ['utp-first', { supportsUtp: true }, 'utp tcp'],
    ['utp-first', { transport: 'tcp' }, 'tcp utp'], // uTP failed (or was never answered) here
    ['utp-first', { transport: 'utp' }, 'utp tcp'],
    ['tcp-first', {}, 'tcp utp'],
    ['tcp-first', { supportsUtp: true }, 'utp tcp'], // PEX flag 0x04
    ['tcp-first', { supportsUtp: true, transport: 'tcp' }, 'tcp utp'], // experience beats PEX
    ['tcp-first', { transport: 'utp' }, 'utp tcp'],
    ['tcp-only', { transport: 'utp', supportsUtp: true }, 'tcp'],
    ['utp-only', { transport: 'tcp' }, 'utp'],
  ];
  for (const [policy, hints, want] of rows)
    assert.equal(dialOrder(policy, hints).join(' '), want, `${policy} ${JSON.stringify(hints)}`);
});
