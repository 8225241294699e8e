/**
 * The usual URLs a server with password authentication must refuse, for a
 * {@link SecurityTarget.refused} list: a wrong password, an unknown user and no credentials at all.
 *
 * @param url builds the backend's URL from user info (`user:password`, percent-encoded, or `""` for none)
 * @param user the user the credentialed URL names
 * @param password that user's password
 */
export function credentialRefusals(
  url: (userinfo: string) => string,
  user: string,
  password: string,
): { why: string; url: string }[] {
  const userinfo = (name: string, secret: string) => `${name}:${encodeURIComponent(secret)}`;
  return [
    { why: "a wrong password", url: url(userinfo(user, `wrong-${password}`)) },
    { why: "an unknown user", url: url(userinfo("nobody", password)) },
    { why: "no credentials", url: url("") },
  ];
}
