// The two undici internals undici-lite.ts imports (CommonJS; their module.exports is the default).
declare module 'undici/lib/dispatcher/agent.js' {
  const exported: unknown;
  export default exported;
}
declare module 'undici/lib/api/index.js' {
  const exported: unknown;
  export default exported;
}
