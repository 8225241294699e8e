/**
 * The usual URLs a server with password authentication must refuse, for a {@link SecurityTarget.refused}
 * list: a wrong password, an unknown user and no credentials at all. The one copy lives in
 * `@rollcall/servers`, next to the `secure…()` servers that use it.
 */
export { credentialRefusals } from "@rollcall/servers";
