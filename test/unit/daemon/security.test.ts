import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { streamContentType, webContentType } from '../../../src/daemon/http/mime.js';
import {
  checkRequest,
  isAllowedHost,
  isSameOrigin,
  parseHostHeader,
  requestToken,
  type SecurityPolicy,
  tokenMatches,
} from '../../../src/daemon/http/security.js';
import { isLoopbackHost } from '../../../src/daemon/options.js';
import { isShoalError } from '../../../src/shared/errors.js';

const local: SecurityPolicy = {
  token: 't'.repeat(43),
  requireToken: false,
  allowedHosts: [],
  publicBind: false,
};
const remote: SecurityPolicy = {
  ...local,
  requireToken: true,
  allowedHosts: ['shoal.lan'],
  publicBind: true,
};

test('Host: IP literals, localhost and configured names only (DNS rebinding)', () => {
  for (const h of [
    '127.0.0.1:9080',
    'localhost:9080',
    'LOCALHOST',
    '[::1]:9080',
    '192.0.2.5:9080',
    '[2001:db8::1]',
  ])
    assert.ok(isAllowedHost(h, local), h);
  for (const h of [
    'evil.example:9080',
    'localhost.evil.example',
    '127.0.0.1.nip.io',
    'shoal.lan',
    '',
    'a b',
    undefined,
  ])
    assert.ok(!isAllowedHost(h, local), String(h));
  assert.ok(isAllowedHost('shoal.lan:9080', remote));
  assert.ok(isAllowedHost(`${hostname()}:9080`, remote), 'the machine name when bound beyond loopback');
  assert.ok(!isAllowedHost(`${hostname()}.evil.example`, remote));
  assert.deepEqual(parseHostHeader('[::1]:80'), { name: '::1', port: '80' });
  assert.equal(parseHostHeader('a:b:c'), undefined);
});

test('Origin: only the daemon’s own origin', () => {
  assert.ok(isSameOrigin('http://127.0.0.1:9080', '127.0.0.1:9080'));
  assert.ok(isSameOrigin('http://LOCALHOST:9080', 'localhost:9080'));
  for (const o of [
    'http://127.0.0.1:9081',
    'http://evil.example',
    'null',
    'file://',
    'chrome-extension://abc',
    'nonsense',
  ])
    assert.ok(!isSameOrigin(o, '127.0.0.1:9080'), o);
  assert.ok(!isSameOrigin('http://127.0.0.1:9080', undefined));
});

test('token: bearer header, cookie, query parameter; constant-time match', () => {
  assert.equal(requestToken({ authorization: 'Bearer abc' }, '/x'), 'abc');
  assert.equal(requestToken({ authorization: 'bearer   abc  ' }, '/x'), 'abc');
  assert.equal(requestToken({ authorization: 'Basic abc' }, '/x'), undefined);
  assert.equal(requestToken({ cookie: 'a=1; shoal_token=xyz%2D; b=2' }, '/x'), 'xyz-');
  assert.equal(requestToken({}, '/x?a=1&token=q'), 'q');
  assert.ok(tokenMatches('abc', 'abc'));
  assert.ok(!tokenMatches('abd', 'abc'));
  assert.ok(!tokenMatches('', 'abc'));
  assert.ok(!tokenMatches(undefined, 'abc'));
});

test('checkRequest: refusals are typed 403/401 errors', () => {
  const req =
    (headers: Record<string, string>, isOpen = false, method = 'GET') =>
    () =>
      checkRequest({ method, url: '/api/v1/torrents', headers, isOpen }, remote);
  const status = (f: () => unknown) => {
    try {
      f();
      return 200;
    } catch (e) {
      assert.ok(isShoalError(e));
      return (e.details as { status: number }).status;
    }
  };
  assert.equal(status(req({ host: 'evil.example' })), 403);
  assert.equal(status(req({ host: '192.0.2.2:9080', origin: 'http://evil.example' })), 403);
  assert.equal(status(req({ host: '192.0.2.2:9080', 'sec-fetch-site': 'cross-site' }, false, 'POST')), 403);
  assert.equal(
    status(
      req({ host: '192.0.2.2:9080', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' }, true),
    ),
    200,
  );
  assert.equal(status(req({ host: '192.0.2.2:9080' })), 401);
  assert.equal(status(req({ host: '192.0.2.2:9080' }, true)), 200, 'open routes need no token');
  assert.equal(status(req({ host: '192.0.2.2:9080', authorization: `Bearer ${remote.token}` })), 200);
  assert.equal(
    status(() =>
      checkRequest({ method: 'GET', url: '/', headers: { host: '127.0.0.1' }, isOpen: false }, local),
    ),
    200,
  );
});

test('loopback addresses', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) assert.ok(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '::', '203.0.113.1', 'example.com']) assert.ok(!isLoopbackHost(h), h);
});

test('content types: media by extension; active content never served as such', () => {
  assert.equal(streamContentType('Movie.MKV'), 'video/x-matroska');
  assert.equal(streamContentType('a.mp4'), 'video/mp4');
  assert.equal(streamContentType('sub.vtt'), 'text/vtt; charset=utf-8');
  for (const f of ['x.html', 'x.htm', 'x.svg', 'x.js', 'x.xml', 'x.xhtml', 'noext', 'dot.']) {
    assert.equal(streamContentType(f), 'application/octet-stream', f);
  }
  assert.equal(webContentType('index.html'), 'text/html; charset=utf-8');
  assert.equal(webContentType('app.js'), 'text/javascript; charset=utf-8');
});
