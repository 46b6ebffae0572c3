import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLoopbackRedirect, matchRedirectUri, redirectDestination } from '../../src/authorization-server/authorize/destination.js';
import { authorizationResponseUrl, formActionSource } from '../../src/authorization-server/authorize/respond.js';

test('redirect URIs match exactly; only the port of an http loopback one is free (RFC 8252 §7.3)', () => {
  const registered = ['http://127.0.0.1/callback', 'http://localhost:3000/cb', 'http://[::1]/cb', 'https://app.example/cb', 'com.example.app:/oauth'];
  const yes = {
    'http://127.0.0.1/callback': 'http://127.0.0.1/callback',
    'http://127.0.0.1:53144/callback': 'http://127.0.0.1:53144/callback',
    'http://localhost:9/cb': 'http://localhost:9/cb',
    'http://[::1]:8080/cb': 'http://[::1]:8080/cb',
    'https://app.example/cb': 'https://app.example/cb',
    'com.example.app:/oauth': 'com.example.app:/oauth',
  };
  for (const [requested, expected] of Object.entries(yes)) assert.equal(matchRedirectUri(registered, requested), expected, requested);
  for (const requested of [
    'http://127.0.0.1:53144/callback/', // path
    'http://127.0.0.1:53144/callback?x=1', // query
    'http://localhost:53144/callback', // another loopback literal
    'http://127.0.0.1:1@evil.example/callback', // userinfo trick
    'http://127.0.0.1:99999/callback', // not a port
    'http://127.0.0.1:/callback',
    'https://127.0.0.1:53144/callback', // scheme
    'https://app.example:8443/cb', // port of a non-loopback URI
    'https://app.example/cb/',
    'https://APP.example/cb',
    'com.example.app:/oauth/',
  ]) {
    assert.equal(matchRedirectUri(registered, requested), undefined, requested);
  }
  assert.equal(matchRedirectUri(['https://app.example/cb'], 'https://app.example/cb'), 'https://app.example/cb');
});

test('destinations as the consent page names them', () => {
  assert.equal(redirectDestination('https://claude.ai/api/mcp/auth_callback'), 'claude.ai');
  assert.equal(redirectDestination('http://127.0.0.1:33418/callback'), '127.0.0.1:33418');
  assert.equal(redirectDestination('com.example.app:/oauth'), 'com.example.app: (an app on this device)');
  assert.equal(isLoopbackRedirect('http://localhost:1/cb'), true);
  assert.equal(isLoopbackRedirect('https://localhost:1/cb'), false);
});

test('the authorization response keeps the registered URI and form-encodes the values', () => {
  assert.equal(authorizationResponseUrl('https://app.example/cb', { code: 'c', state: 'a b&c', iss: 'https://as.example' }), 'https://app.example/cb?code=c&state=a+b%26c&iss=https%3A%2F%2Fas.example');
  assert.equal(authorizationResponseUrl('https://app.example/cb?tenant=a%20b', { code: 'c', state: undefined }), 'https://app.example/cb?tenant=a%20b&code=c');
  const state = 'ü😀 +%20&=';
  assert.equal(new URL(authorizationResponseUrl('http://127.0.0.1:1/cb', { state })).searchParams.get('state'), state);
});

test('CSP form-action sources: origin, private-use scheme, IPv6 loopback as the scheme', () => {
  assert.equal(formActionSource('http://127.0.0.1:4711/callback'), 'http://127.0.0.1:4711');
  assert.equal(formActionSource('https://app.example/cb?x=1'), 'https://app.example');
  assert.equal(formActionSource('com.example.app:/oauth'), 'com.example.app:');
  assert.equal(formActionSource('http://[::1]:8080/cb'), 'http:');
});
