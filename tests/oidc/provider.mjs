// A real OpenID provider for Latchkey's sign-in tests: panva/oidc-provider (OpenID
// Certified), on loopback, with one confidential client and a sign-in form that takes
// the account to be as fields, so each test decides who the provider says the user is.
//
//   node tests/oidc/provider.mjs     # prints `issuer=http://127.0.0.1:PORT`, then serves
//
// It stops when its standard input closes, so it never outlives the tests that started it.
//
// The client is `latchkey` / `latchkey-test-secret`. Any http://localhost:PORT or
// http://127.0.0.1:PORT redirect URI is accepted, because every test app listens on its
// own port; everything else (PKCE, state, nonce, ID tokens, userinfo) is the provider's.
import http from 'node:http';
import Provider from 'oidc-provider';

const accounts = new Map();

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'latchkey',
      client_secret: 'latchkey-test-secret',
      redirect_uris: ['http://localhost/auth/oauth/test/callback'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  // A client secret is not enough here: Latchkey must send a PKCE challenge too.
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['latchkey-test-cookie-key'] },
  async findAccount(_ctx, id) {
    const account = accounts.get(id);
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...account }) };
  },
});
provider.Client.prototype.redirectUriAllowed = (uri) => /^http:\/\/(localhost|127\.0\.0\.1):\d+\/auth\/oauth\/[^/]+\/callback$/.test(uri);

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return Object.fromEntries(new URLSearchParams(body));
}

const callback = provider.callback();
server.on('request', async (req, res) => {
  const match = req.url.match(/^\/interaction\/([\w-]+)(\/login|\/abort)?$/);
  if (!match) return callback(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    const uid = escape(details.uid);
    if (req.method === 'GET' && !match[2]) {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(`<!doctype html><title>Test provider</title>
<form method="post" action="/interaction/${uid}/login">
  <label>Subject <input name="sub"></label> <label>Email <input name="email"></label>
  <label>Verified <input name="email_verified" value="true"></label> <label>Name <input name="name"></label>
  <button>Sign in</button>
</form>
<form method="post" action="/interaction/${uid}/abort"><button>Cancel</button></form>`);
      return;
    }
    if (req.method !== 'POST') {
      res.statusCode = 405;
      res.end();
      return;
    }
    const form = await readForm(req);
    if (match[2] === '/abort') {
      await provider.interactionFinished(req, res, {
        error: 'access_denied',
        error_description: form.reason || 'The user cancelled the sign-in',
      });
      return;
    }
    if (!form.sub) throw new Error('sub is required');
    const account = { email_verified: form.email_verified === 'true' };
    if (form.email) account.email = form.email;
    if (form.name) account.name = form.name;
    accounts.set(form.sub, account);
    const grant = new provider.Grant({ accountId: form.sub, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { login: { accountId: form.sub }, consent: { grantId } }, {
      mergeWithLastSubmission: false,
    });
  } catch (err) {
    res.statusCode = 400;
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.end(`interaction failed: ${err.message}`);
  }
});

process.stdout.write(`issuer=${issuer}\n`);
// Standard output carried the issuer; the parent may stop reading it, so the provider's
// own notices go to standard error.
console.log = console.info = console.error;
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
