// A real OpenID Connect provider for the tests: the npm package oidc-provider (installed by
// tests/system-packages.sh into tests/.oidc), run under Node by tests/oidc.py. Not for use
// anywhere else: in-memory storage, its development sign-in pages, keys made at start.
//
// Configured by the environment:
//   OIDC_NODE_MODULES  where oidc-provider and jose are installed
//   OP_CLIENTS         JSON list of {"client_id", "client_secret", "rogue"?}
//   OP_ACCOUNTS        JSON object: login name -> claims (email, email_verified, name, tid, ...)
//   OP_PORT            the port (unset: a free one)
// It listens on 127.0.0.1 and prints "listening <issuer>" when ready.
//
// Each start makes a new signing key with a new key id: stopping and starting it again on
// the same port is a provider rotating its keys.
//
// A client marked "rogue" gets ID tokens that fail one check, re-signed with the real key
// unless the check is the signature: "issuer" (another iss), "audience" (another aud),
// "signature" (another key under the same key id), "expired" (exp an hour ago), "nonce"
// (another nonce). That is how a relying party's checks are proven here: real tokens, real
// signatures, one thing wrong at a time.

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const modules = process.env.OIDC_NODE_MODULES;
const load = (p) => import(pathToFileURL(path.join(modules, p)).href);
const { default: Provider } = await load('oidc-provider/lib/index.js');
const jose = await load('jose/dist/webapi/index.js');

const clients = JSON.parse(process.env.OP_CLIENTS || '[]');
const accounts = JSON.parse(process.env.OP_ACCOUNTS || '{}');
const rogue = Object.fromEntries(clients.filter((c) => c.rogue).map((c) => [c.client_id, c.rogue]));

async function signingKey() {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const jwk = await jose.exportJWK(privateKey);
  return { ...jwk, kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' };
}

const key = await signingKey();
const otherKey = await signingKey();

const server = http.createServer();
await new Promise((resolve) => server.listen(Number(process.env.OP_PORT || 0), '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: ['http://127.0.0.1/login/sso/placeholder/callback'],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  })),
  jwks: { keys: [key] },
  cookies: { keys: [randomBytes(16).toString('hex')] },
  claims: {
    openid: ['sub', 'tid'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
  },
  // Put the scopes' claims in the ID token, as Entra ID and Google do.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    if (!Object.hasOwn(accounts, id)) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...accounts[id] }) };
  },
  // First-party clients: no consent screen (oidc-provider's documented recipe).
  async loadExistingGrant(ctx) {
    const grantId =
      ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});

// Confer's test servers listen on free ports: any 127.0.0.1 callback address is allowed.
const callback = /^http:\/\/127\.0\.0\.1:\d+\/login\/sso\/[a-z0-9-]+\/callback$/;
provider.Client.prototype.redirectUriAllowed = function redirectUriAllowed(uri) {
  return callback.test(uri);
};

provider.use(async (ctx, next) => {
  await next();
  const clientId = ctx.oidc?.client?.clientId;
  const mode = clientId && rogue[clientId];
  if (!mode || ctx.path !== '/token' || ctx.status !== 200 || !ctx.body?.id_token) return;
  const payload = jose.decodeJwt(ctx.body.id_token);
  const now = Math.floor(Date.now() / 1000);
  let signWith = key;
  if (mode === 'issuer') payload.iss = 'https://elsewhere.example';
  if (mode === 'audience') payload.aud = 'someone-else';
  if (mode === 'expired') Object.assign(payload, { iat: now - 7200, exp: now - 3600 });
  if (mode === 'nonce') payload.nonce = 'not-the-nonce-that-was-sent';
  if (mode === 'signature') signWith = { ...otherKey, kid: key.kid };
  const privateKey = await jose.importJWK(signWith, 'RS256');
  ctx.body = {
    ...ctx.body,
    id_token: await new jose.SignJWT(payload)
      .setProtectedHeader({ alg: 'RS256', kid: signWith.kid, typ: 'JWT' })
      .sign(privateKey),
  };
});

server.on('request', provider.callback());
process.stdout.write(`listening ${issuer}\n`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
// The test run holds our stdin open: when it ends (even killed), so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
