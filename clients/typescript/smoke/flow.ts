// The typed client against a live keel-api: register, verify with the token from the SMTP
// sink's saved mail, log in, read users/me. Run by scripts/test-api-docs.sh:
//   node dist/smoke/flow.js BASE_URL MAIL_DIR
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createKeelClient, type Problem } from "../src/index.js";

const [baseArg, mailArg] = process.argv.slice(2);
if (!baseArg || !mailArg) throw new Error("usage: flow.js BASE_URL MAIL_DIR");
const base: string = baseArg;
const mailDir: string = mailArg;
const api = createKeelClient(base);
const email = `ts-client-${Date.now()}@example.com`;
const password = "correct horse battery staple 42";

function expect(ok: boolean, what: string, error?: Problem): asserts ok {
  if (!ok) throw new Error(`${what}${error ? `: ${error.code} ${error.detail}` : ""}`);
}

/** The verification token of the newest mail to `to` (quoted-printable undone). */
async function emailedToken(to: string): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt++) {
    for (const name of readdirSync(mailDir).sort().reverse()) {
      const raw = readFileSync(join(mailDir, name), "latin1");
      if (!raw.includes(to)) continue;
      const text = raw.replace(/=\r?\n/g, "").replace(/=3D/gi, "=");
      const match = /verify-email\?token=([A-Za-z0-9_-]+)/.exec(text);
      if (match?.[1]) return match[1];
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no verification email to ${to} in ${mailDir}`);
}

const registered = await api.POST("/api/v1/auth/register", {
  body: { email, password, name: "Ada Lovelace" },
});
expect(registered.response.status === 202, "register", registered.error);

const token = await emailedToken(email);
const verified = await api.POST("/api/v1/auth/verify-email", { body: { token } });
expect(verified.response.status === 204, "verify", verified.error);

const login = await api.POST("/api/v1/auth/login", { body: { email, password } });
expect(login.data !== undefined, "login", login.error);
expect("access_token" in login.data, "login answered mfa_required");
api.setAccessToken(login.data.access_token);

const me = await api.GET("/api/v1/users/me");
expect(me.data !== undefined, "users/me", me.error);
expect(me.data.email === email && me.data.email_verified, "users/me shows the verified user");

const bad = await api.PATCH("/api/v1/users/me", { body: { name: "" } });
expect(bad.error?.code === "invalid_field", "a bad name is a typed problem");
console.log(`typed client: register → verify → login → users/me as ${me.data.email}: ok`);
