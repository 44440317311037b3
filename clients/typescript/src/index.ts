// The Keel API client: openapi-fetch over the types openapi-typescript generates from
// openapi.json (`npm run generate`). Every path, parameter, body and answer is typed, so a
// breaking change to the contract fails `tsc`.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.js";

export type { components, paths };
/** An RFC 9457 problem: every error body. Branch on `code`. */
export type Problem = components["schemas"]["Problem"];
export type User = components["schemas"]["UserResponse"];
export type Tokens = components["schemas"]["TokenResponse"];

/** A client for the api at `baseUrl` (e.g. `https://api.example.com`). */
export function createKeelClient(baseUrl: string) {
  let accessToken: string | undefined;
  const auth: Middleware = {
    onRequest({ request }) {
      if (accessToken) request.headers.set("Authorization", `Bearer ${accessToken}`);
      return request;
    },
  };
  const client = createClient<paths>({ baseUrl });
  client.use(auth);
  return {
    ...client,
    /** Sends `Authorization: Bearer <token>` from now on (`undefined` stops). */
    setAccessToken(token: string | undefined) {
      accessToken = token;
    },
  };
}
