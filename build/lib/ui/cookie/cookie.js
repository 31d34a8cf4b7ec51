// Keeps one value in a cookie of this site: what identifies this browser to the server (a random
// key), so a reload is the same person. Never the address bar: nothing on a projected screen or in
// a shared link grants a right. SameSite=Strict: no other site's page sends it along.
export default function ({ data }) {
  const { name, value, maxAgeSeconds } = data;
  if (!/^[A-Za-z0-9_-]+$/.test(name) || !/^[A-Za-z0-9_-]*$/.test(value)) return;
  document.cookie = `${name}=${value}; Max-Age=${maxAgeSeconds}; Path=/; SameSite=Strict`;
}
