// sdk_proof.mjs — Microsoft's own SDKs, unmodified, against `dialtone emulator --tls`
// (issue 15). Run by tests/sdk/run_sdk_test.sh with NODE_EXTRA_CA_CERTS = the emulator's CA.
//   node sdk_proof.mjs https://localhost:PORT
// msal-node's ConfidentialClientApplication gets a token with the emulator as authority;
// the token must verify with jose against the identity platform's OpenID metadata; the
// Graph client (default middleware) creates a call from the reference's example, answers an
// incoming call placed through the control API, plays a prompt, subscribes to tones and gets
// the caller's key, records a response and downloads it, and deletes both calls; a
// notification receiver verifies every notification with jose against the emulator's
// OpenID configuration. Any failure exits non-zero with the reason.
import http from "node:http";
import { ConfidentialClientApplication } from "@azure/msal-node";
import { Client } from "@microsoft/microsoft-graph-client";
import { createRemoteJWKSet, jwtVerify } from "jose";

const APP_ID = "11111111-1111-1111-1111-111111111111";
const TENANT = "22222222-2222-2222-2222-222222222222";
const emu = process.argv[2];
function fail(msg) {
  console.error("FAIL: " + msg);
  process.exit(1);
}
if (!emu || !emu.startsWith("https://")) fail(`the emulator must serve HTTPS, got ${emu}`);
const url = new URL(emu);
let waitingFor = "start";
const timer = setTimeout(() => fail(`timed out waiting for ${waitingFor}`), Number(process.env.SDK_TIMEOUT_MS || 120000));

// ---- the notification receiver: every notification verified with jose
const botKeys = createRemoteJWKSet(
  new URL((await (await fetch(`${emu}/.well-known/openid-configuration`)).json()).jwks_uri));
const notes = [];
const waiters = [];
let verified = 0;
const bot = http.createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", async () => {
    const auth = req.headers.authorization || "";
    try {
      await jwtVerify(auth.replace(/^Bearer /, ""), botKeys, {
        issuer: "https://api.botframework.com", audience: APP_ID });
      verified++;
    } catch (e) {
      fail(`a notification did not verify: ${e.message}`);
    }
    res.writeHead(202).end();
    for (const n of JSON.parse(body).value || []) {
      notes.push(n);
      waiters.splice(0).forEach((w) => w());
    }
  });
});
await new Promise((r) => bot.listen(0, "127.0.0.1", r));
const botUrl = `http://127.0.0.1:${bot.address().port}/api/calls`;
async function waitFor(pred, what) {
  waitingFor = what;
  for (;;) {
    const n = notes.find(pred);
    if (n) return n;
    await new Promise((r) => waiters.push(r));
  }
}
const stateOf = (id, state) => (n) =>
  n.resourceUrl && n.resourceUrl.includes(id) && n.resourceData && n.resourceData.state === state;

// ---- msal-node: the emulator as authority (knownAuthorities: no instance discovery)
const cca = new ConfidentialClientApplication({
  auth: {
    clientId: APP_ID,
    clientSecret: "any-secret",
    authority: `${emu}/${TENANT}`,
    knownAuthorities: [url.host],
  },
});
const scopes = ["https://graph.microsoft.com/.default"];
const first = await cca.acquireTokenByClientCredential({ scopes });
if (!first || !first.accessToken) fail("msal-node got no token");
// the access token is a JWT the identity platform's keys verify
const idMeta = await (await fetch(`${emu}/${TENANT}/v2.0/.well-known/openid-configuration`)).json();
const { payload } = await jwtVerify(first.accessToken, createRemoteJWKSet(new URL(idMeta.jwks_uri)), {
  audience: "https://graph.microsoft.com", issuer: `https://sts.windows.net/${TENANT}/`,
});
if (payload.appid !== APP_ID || payload.tid !== TENANT || !payload.roles.includes("Calls.Initiate.All"))
  fail(`unexpected claims ${JSON.stringify(payload)}`);
console.log(`token: a JWT for ${payload.aud}, roles ${payload.roles.join(" ")}`);

// ---- the Graph client with its default middleware (the auth handler sends the token to
// https custom hosts only)
const graph = Client.initWithMiddleware({
  authProvider: {
    getAccessToken: async () => (await cca.acquireTokenByClientCredential({ scopes })).accessToken,
  },
  baseUrl: emu,
  customHosts: new Set([url.hostname]),
});

// create a call: the reference's Example 1 with the receiver as callbackUri
const created = await graph.api("/communications/calls").post({
  "@odata.type": "#microsoft.graph.call",
  callbackUri: botUrl,
  targets: [{ "@odata.type": "#microsoft.graph.invitationParticipantInfo",
              identity: { "@odata.type": "#microsoft.graph.identitySet",
                          user: { "@odata.type": "#microsoft.graph.identity",
                                  displayName: "John", id: "112f7296-5fa4-42ca-bae8-6a692b15d4b8" } } }],
  requestedModalities: ["audio"],
  mediaConfig: { "@odata.type": "#microsoft.graph.serviceHostedMediaConfig" },
});
if (created.state !== "establishing") fail(`created call state ${created.state}`);
await waitFor(stateOf(created.id, "established"), "outgoing call established");
console.log(`outgoing call ${created.id} established`);
await graph.api(`/communications/calls/${created.id}`).delete();

// an incoming call through the control API, answered with the Graph client
const placed = await (await fetch(`${emu}/emulator/calls`, {
  method: "POST", headers: { "content-type": "application/json" },
  body: JSON.stringify({ bot_url: botUrl, script: [{ on: "record", speak_s: 1 }] }), // speaks when recorded
})).json();
const incoming = await waitFor(stateOf(placed.id, "incoming"), "incoming");
await graph.api(`/communications/calls/${placed.id}/answer`).post({
  callbackUri: botUrl,
  acceptedModalities: ["audio"],
  mediaConfig: { "@odata.type": "#microsoft.graph.serviceHostedMediaConfig" },
});
await waitFor(stateOf(placed.id, "established"), "incoming call established");
const op = await graph.api(`/communications/calls/${placed.id}/playPrompt`).post({
  clientContext: "sdk-proof",
  prompts: [{ "@odata.type": "#microsoft.graph.mediaPrompt",
              mediaInfo: { uri: "https://cdn.contoso.com/beep.wav", resourceId: "1D6DE2D4-CD51-4309-8DAA-70768651088E" } }],
});
if (!op.id || !["running", "completed", "notStarted"].includes(op.status)) fail(`playPrompt answered ${JSON.stringify(op)}`);
await waitFor((n) => n.resourceData && n.resourceData["@odata.type"] === "#microsoft.graph.playPromptOperation" &&
                     n.resourceData.status === "completed", "playPrompt completed");
console.log(`incoming call ${placed.id}: answered, prompt played`);
// subscribeToTone, then the caller presses keys through the control API
const sub = await graph.api(`/communications/calls/${placed.id}/subscribeToTone`).post({ clientContext: "sdk-proof" });
if (sub.status !== "completed")
  await waitFor((n) => n.resourceData && n.resourceData.id === sub.id && n.resourceData.status === "completed",
                "subscribeToTone completed");
await fetch(`${emu}/emulator/calls/${placed.id}/tones`, {
  method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ tones: "7" }) });
await waitFor((n) => n.resourceData && n.resourceData.toneInfo && n.resourceData.toneInfo.tone === "tone7", "tone7");
// recordResponse (the caller's script speaks when it listens), then download the recording with its token
await graph.api(`/communications/calls/${placed.id}/recordResponse`).post({
  clientContext: "sdk-proof-rec", bargeInAllowed: false, maxRecordDurationInSeconds: 10,
  initialSilenceTimeoutInSeconds: 5, maxSilenceTimeoutInSeconds: 2, playBeep: true, stopTones: ["#"],
  prompts: [] });
const rec = await waitFor((n) => n.resourceData && n.resourceData["@odata.type"] === "#microsoft.graph.recordOperation" &&
                                 ["completed", "failed"].includes(n.resourceData.status), "recordResponse finished");
if (rec.resourceData.status !== "completed") fail(`recordResponse: ${JSON.stringify(rec.resourceData)}`);
const wav = await fetch(rec.resourceData.recordingLocation, {
  headers: { Authorization: `Bearer ${rec.resourceData.recordingAccessToken}` } });
const bytes = Buffer.from(await wav.arrayBuffer());
if (wav.status !== 200 || bytes.subarray(0, 4).toString() !== "RIFF") fail(`recording download: ${wav.status}`);
console.log(`tone received, ${bytes.length} bytes of recording downloaded`);
await graph.api(`/communications/calls/${placed.id}`).delete();
await waitFor((n) => n.changeType === "deleted" && n.resourceUrl.includes(placed.id), "deleted");

if (verified < 4) fail(`only ${verified} notification requests arrived`);
console.log(`ok: ${verified} notifications verified with jose`);
clearTimeout(timer);
bot.close();
process.exit(0);
