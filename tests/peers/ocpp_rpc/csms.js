#!/usr/bin/env node
'use strict';
/*
 * An independent OCPP CSMS for voltlab's tests, built on the npm package
 * `ocpp-rpc` (strict schema validation on by default).
 *
 * It is driven over stdin/stdout with one JSON object per line.
 *
 *   node csms.js [--port N] [--host 127.0.0.1] [--protocols ocpp1.6,ocpp2.0.1]
 *                [--no-strict] [--allow-no-protocol]
 *                [--tls-cert PATH --tls-key PATH [--tls-ca PATH [--tls-require-client-cert]]
 *                 [--tls-port N]]
 *                [--basic-auth IDENTITY:PASSWORD]... [--quiet]
 *
 * --quiet (for benchmarks): no per-connection, per-frame or per-call events on
 * stdout; the peer only counts them (command `counts`). Strict failures, bad
 * messages and command replies are still printed.
 *
 * OCPP security profiles:
 *   --tls-cert/--tls-key   serve wss:// (node https server, TLS >= 1.2) instead of ws://.
 *   --tls-ca               ask the station for a client certificate and verify it
 *                          against this CA; a station whose certificate verifies
 *                          needs no Basic auth (profile 3).
 *   --tls-require-client-cert
 *                          refuse the TLS handshake without a valid client
 *                          certificate (profile 3 only); needs --tls-ca.
 *   --tls-port N           serve both: plain ws:// on --port and wss:// on N (0: any
 *                          free port), the same CSMS behind both (a station whose
 *                          security profile is raised moves from one to the other);
 *                          "listening" then carries "tls_port".
 *   --basic-auth ID:PW     HTTP Basic auth (profiles 1 and 2): the upgrade is
 *                          rejected with 401 unless the station sends password PW
 *                          for identity ID (repeatable; ID `*` matches any
 *                          identity). Identities without an entry are refused.
 * Without these options nothing changes: plain ws://, no authentication.
 *
 * stdout (events):
 *   {"event":"listening","port":N,"host":...,"protocols":[...],"strict":bool}
 *   {"event":"connected","identity","protocol","path","endpoint"}
 *   {"event":"disconnected","identity","code","reason"}
 *   {"event":"frame","identity","direction":"in"|"out","frame":[...]|null,"raw"?,"ts"}
 *   {"event":"call","identity","method","params","message_id","protocol"}
 *   {"event":"send","identity","method","params","message_id","protocol"}   (2.1 SEND, type 6)
 *   {"event":"strict_failure","identity","method","message_id","direction","kind",
 *    "params","result","error":{code,message,errors}}
 *   {"event":"bad_message","identity","raw","error":{code,message},"response"}
 *   {"event":"upgrade_rejected"|"upgrade_aborted","identity","path","reason"}
 *   {"event":"tls_error","message","code"}   (TLS handshake failed; wss only)
 *   "connected" carries "tls":{protocol,cipher,authorized,authorization_error,
 *   client_cert:{subject,issuer,serial}|null} when serving wss (absent otherwise)
 *   {"reply_to":id,"ok":true,"result":...} / {"reply_to":id,"ok":false,"error":{...}}
 *
 *   {"event":"violation","identity","kind","method","message_id","frame"}
 *       (misbehaving mode: a rule of OCPP-J the peer broke on purpose, see `misbehave`)
 *
 * stdin (commands, each with an "id"): see handleCommand() below.
 *
 * Misbehaving mode (command `misbehave`): a script of violations, each used once, for the
 * next CALL of `on` from `identity` (in order):
 *   {"on": METHOD, "answer": "invalid_result", "result": {...}}  CALLRESULT that fails the schema
 *   {"on": METHOD, "answer": "callerror", "code": "NoSuchCode"}  CALLERROR with a bad code
 *   {"on": METHOD, "answer": "twice"}   the right CALLRESULT, sent twice
 *   {"on": METHOD, "answer": "none"}    no answer at all
 * They bypass strict mode (the frames go out raw); every other message is answered as ever.
 * Closing stdin shuts the server down and exits the process.
 *
 * ISO 15118 Plug & Charge (see "Plug & Charge" below): Authorize with a contract certificate or
 * its OCSP data is answered with a certificateStatus (set_certificate_status); on ocpp1.6 the
 * OCA application note's DataTransfer (vendorId org.openchargealliance.iso15118pnc, messageId
 * the 2.0.1 action, data its JSON) is unwrapped, its data checked against the 2.0.1 schema in
 * both directions (a failure is a strict_failure with kind "wrapped") and answered by the 2.0.1
 * handlers; command `call_pnc` sends a CSMS request of the note wrapped.
 */

const fs = require('fs');
const https = require('https');
const readline = require('readline');
const crypto = require('crypto');
const { RPCServer, createRPCError, createValidator, NOREPLY } = require('ocpp-rpc');

// ---------------------------------------------------------------- CLI ------

function parseArgs(argv) {
    const opts = {
        port: 0,
        host: '127.0.0.1',
        protocols: ['ocpp1.6', 'ocpp2.0.1'],
        strict: true,
        allowNoProtocol: false,
        tlsCert: null,
        tlsKey: null,
        tlsCa: null,
        tlsRequireClientCert: false,
        tlsPort: null,               // with --tls-cert: plain on --port, TLS on this one
        basicAuth: new Map(),        // identity ('*' = any) -> password
        quiet: false,
    };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const value = () => {
            if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
            return argv[++i];
        };
        switch (arg) {
            case '--port': opts.port = Number.parseInt(value(), 10); break;
            case '--host': opts.host = value(); break;
            case '--protocols':
                opts.protocols = value().split(',').map(s => s.trim()).filter(Boolean);
                break;
            case '--strict': opts.strict = true; break;
            case '--no-strict': opts.strict = false; break;
            case '--allow-no-protocol': opts.allowNoProtocol = true; break;
            case '--quiet': opts.quiet = true; break;
            case '--tls-cert': opts.tlsCert = value(); break;
            case '--tls-key': opts.tlsKey = value(); break;
            case '--tls-ca': opts.tlsCa = value(); break;
            case '--tls-require-client-cert': opts.tlsRequireClientCert = true; break;
            case '--tls-port': opts.tlsPort = Number.parseInt(value(), 10); break;
            case '--basic-auth': {
                const pair = value();
                const colon = pair.indexOf(':');
                if (colon <= 0) throw new Error('--basic-auth takes IDENTITY:PASSWORD');
                opts.basicAuth.set(pair.slice(0, colon), pair.slice(colon + 1));
                break;
            }
            default: throw new Error(`unknown argument: ${arg}`);
        }
    }
    if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
        throw new Error('--port must be an integer 0..65535');
    }
    if (!opts.protocols.length) throw new Error('--protocols must name at least one subprotocol');
    if (Boolean(opts.tlsCert) !== Boolean(opts.tlsKey)) {
        throw new Error('--tls-cert and --tls-key go together');
    }
    if (opts.tlsCa && !opts.tlsCert) throw new Error('--tls-ca needs --tls-cert and --tls-key');
    if (opts.tlsPort !== null) {
        if (!opts.tlsCert) throw new Error('--tls-port needs --tls-cert and --tls-key');
        if (!Number.isInteger(opts.tlsPort) || opts.tlsPort < 0 || opts.tlsPort > 65535) {
            throw new Error('--tls-port must be an integer 0..65535');
        }
    }
    if (opts.tlsRequireClientCert && !opts.tlsCa) {
        throw new Error('--tls-require-client-cert needs --tls-ca');
    }
    return opts;
}

// ------------------------------------------------------- 2.1 validator -----

/*
 * ocpp-rpc looks schemas up as `urn:<Action>.req` / `urn:<Action>.conf`, but
 * the OCPP 2.1 schemas bundled with version 2.2.1 carry the OCA ids
 * `urn:<Action>Request` / `urn:<Action>Response` (and the SEND-only
 * `urn:NotifyPeriodicEventStream`). Strict mode for ocpp2.1 therefore fails
 * every message with "Schema ... is missing". Rebuild that validator with the
 * ids renamed; passed as strictModeValidators it replaces the bundled one.
 */
function buildOcpp21Validator() {
    const schemas = require('ocpp-rpc/lib/schemas/ocpp2_1.json');
    const renamed = schemas.map(schema => {
        const id = schema.$id;
        let newId;
        if (id.endsWith('Request')) newId = `${id.slice(0, -'Request'.length)}.req`;
        else if (id.endsWith('Response')) newId = `${id.slice(0, -'Response'.length)}.conf`;
        else newId = `${id}.req`; // SEND messages have no response schema
        return { ...schema, $id: newId };
    });
    return createValidator('ocpp2.1', renamed);
}

// ------------------------------------------------------------- output ------

function emit(obj) {
    process.stdout.write(JSON.stringify(obj) + '\n');
}

function errorInfo(err) {
    if (!err) return { code: 'GenericError', message: '' };
    return {
        code: err.rpcErrorCode || err.name || 'GenericError',
        message: err.message || err.rpcErrorMessage || String(err),
    };
}

function parseFrame(text) {
    try {
        return JSON.parse(text);
    } catch (e) {
        return undefined;
    }
}

// -------------------------------------------------------------- state ------

const state = {
    clients: new Map(),              // identity -> RPCServerClient (latest connection)
    boot: { status: 'Accepted', interval: 300 },
    bootByIdentity: new Map(),       // identity -> {status, interval}
    auth: new Map(),                 // idTag -> {status, parentIdTag, expiryDate}
    authDefault: 'Accepted',
    overrides: new Map(),            // `${identity||'*'}|${method}` -> {result}|{error}
    delays: new Map(),               // `${identity||'*'}|${method}` -> ms before answering
    nextTransactionId: 1,
    misbehaviour: new Map(),         // identity -> [{on, answer, ...}] (used once each, in order)
    quiet: false,
    // what --quiet counts instead of printing
    counts: { connects: 0, disconnects: 0, frames_in: 0, frames_out: 0, calls: {} },
    // scripted behaviour for scenario tests (see "reactions" below)
    bootSequence: null,              // {statuses: [...], interval} (set_boot_sequence)
    bootCounts: new Map(),           // identity -> BootNotifications answered so far
    lastTransaction: new Map(),      // identity -> last transactionId given (1.6)
    reactions: [],                   // set_reaction entries
    whenOverrides: [],               // set_response_when entries
    callParams: new Map(),           // `${identity}|${method}` -> params of the CALL being handled
    certificateStatus: new Map(),    // idToken (eMAID) -> AuthorizeCertificateStatusEnumType
    certificateStatusDefault: 'Accepted',
};

function countCall(method) {
    state.counts.calls[method] = (state.counts.calls[method] ?? 0) + 1;
}

const OCPP16_AUTH = new Set(['Accepted', 'Blocked', 'Expired', 'Invalid', 'ConcurrentTx']);
const OCPP2_AUTH = new Set([
    'Accepted', 'Blocked', 'ConcurrentTx', 'Expired', 'Invalid', 'NoCredit',
    'NotAllowedTypeEVSE', 'NotAtThisLocation', 'NotAtThisTime', 'Unknown',
]);

function nowIso() {
    return new Date().toISOString();
}

function lookupAuth(idTag) {
    const entry = state.auth.get(idTag);
    return entry ?? { status: state.authDefault };
}

function idTagInfo16(idTag) {
    const a = lookupAuth(idTag);
    // statuses that exist only in 2.x have no 1.6 equivalent: report Invalid
    const info = { status: OCPP16_AUTH.has(a.status) ? a.status : 'Invalid' };
    if (a.parentIdTag) info.parentIdTag = a.parentIdTag;
    if (a.expiryDate) info.expiryDate = a.expiryDate;
    return info;
}

function idTokenInfo2(idToken) {
    const a = lookupAuth(idToken);
    const info = { status: a.status };
    if (a.parentIdTag) info.groupIdToken = { idToken: a.parentIdTag, type: 'Central' };
    if (a.expiryDate) info.cacheExpiryDateTime = a.expiryDate;
    return info;
}

function bootResponse(identity) {
    if (state.bootSequence && !state.bootByIdentity.has(identity)) {
        const n = state.bootCounts.get(identity) ?? 0;
        state.bootCounts.set(identity, n + 1);
        const statuses = state.bootSequence.statuses;
        const status = statuses[Math.min(n, statuses.length - 1)];
        return { status, currentTime: nowIso(), interval: state.bootSequence.interval };
    }
    const b = state.bootByIdentity.get(identity) ?? state.boot;
    return { status: b.status, currentTime: nowIso(), interval: b.interval };
}

// ----------------------------------------------------------- handlers ------

const empty = () => ({});

const handlers16 = {
    Authorize: (p) => ({ idTagInfo: idTagInfo16(p.idTag) }),
    BootNotification: (p, ctx) => bootResponse(ctx.identity),
    DataTransfer: (p, ctx) => (p.vendorId === PNC_VENDOR ? pncDataTransfer(p, ctx) : { status: 'Accepted' }),
    DiagnosticsStatusNotification: empty,
    FirmwareStatusNotification: empty,
    Heartbeat: () => ({ currentTime: nowIso() }),
    MeterValues: empty,
    StartTransaction: (p, ctx) => {
        const transactionId = state.nextTransactionId++;
        state.lastTransaction.set(ctx.identity, transactionId);
        return { idTagInfo: idTagInfo16(p.idTag), transactionId };
    },
    StatusNotification: empty,
    StopTransaction: (p) => (p.idTag !== undefined ? { idTagInfo: idTagInfo16(p.idTag) } : {}),
    // Security whitepaper (edition 2) extensions
    SecurityEventNotification: empty,
    SignCertificate: () => ({ status: 'Accepted' }),
    LogStatusNotification: empty,
    SignedFirmwareStatusNotification: empty,
};

// Authorize with a contract (its chain or OCSP data) also says what the certificate is worth.
function authorize2(p) {
    const answer = { idTokenInfo: idTokenInfo2(p.idToken?.idToken) };
    if (p.certificate !== undefined || p.iso15118CertificateHashData !== undefined) {
        answer.certificateStatus = state.certificateStatus.get(p.idToken?.idToken)
            ?? state.certificateStatusDefault;
    }
    return answer;
}

const handlers201 = {
    Authorize: authorize2,
    BootNotification: (p, ctx) => bootResponse(ctx.identity),
    ClearedChargingLimit: empty,
    DataTransfer: () => ({ status: 'Accepted' }),
    FirmwareStatusNotification: empty,
    Get15118EVCertificate: () => ({ status: 'Failed', exiResponse: '' }),
    GetCertificateStatus: () => ({ status: 'Failed' }),
    Heartbeat: () => ({ currentTime: nowIso() }),
    LogStatusNotification: empty,
    MeterValues: empty,
    NotifyChargingLimit: empty,
    NotifyCustomerInformation: empty,
    NotifyDisplayMessages: empty,
    NotifyEVChargingNeeds: () => ({ status: 'Accepted' }),
    NotifyEVChargingSchedule: () => ({ status: 'Accepted' }),
    NotifyEvent: empty,
    NotifyMonitoringReport: empty,
    NotifyReport: empty,
    PublishFirmwareStatusNotification: empty,
    ReportChargingProfiles: empty,
    ReservationStatusUpdate: empty,
    SecurityEventNotification: empty,
    SignCertificate: () => ({ status: 'Accepted' }),
    StatusNotification: empty,
    TransactionEvent: (p) => (p.idToken ? { idTokenInfo: idTokenInfo2(p.idToken.idToken) } : {}),
};

const handlers21 = {
    ...handlers201,
    // charging-station-initiated actions new in 2.1
    BatterySwap: empty,
    ClosePeriodicEventStream: empty,
    NotifyDERAlarm: empty,
    NotifyDERStartStop: empty,
    NotifyPriorityCharging: empty,
    NotifySettlement: empty,
    NotifyWebPaymentStarted: empty,
    OpenPeriodicEventStream: () => ({ status: 'Accepted' }),
    PullDynamicScheduleUpdate: () => ({ status: 'Rejected' }),
    ReportDERControl: empty,
    VatNumberValidation: (p) => ({ vatNumber: p.vatNumber, status: 'Rejected' }),
};

const handlersByProtocol = {
    'ocpp1.6': handlers16,
    'ocpp2.0.1': handlers201,
    'ocpp2.1': handlers21,
};

function findOverride(identity, method) {
    const conditional = findConditionalOverride(identity, method);
    if (conditional) return conditional;
    const key = state.overrides.has(`${identity}|${method}`) ? `${identity}|${method}` : `*|${method}`;
    const override = state.overrides.get(key);
    // `once`: this CALL only; the next one is answered as before (a CSMS that changed its
    // answer to one request, e.g. one Authorize of a replayed session).
    if (override?.once) state.overrides.delete(key);
    return override;
}

// --------------------------------------------------------------- TLS -------

function certName(name) {
    if (!name || typeof name !== 'object') return null;
    return { ...name };
}

// What the TLS layer knows about a connection, or null when it is plain ws://.
function tlsInfo(request) {
    const sock = request && request.socket;
    if (!sock || !sock.encrypted) return null;
    const peer = typeof sock.getPeerCertificate === 'function' ? sock.getPeerCertificate() : null;
    const hasCert = Boolean(peer && Object.keys(peer).length);
    const cipher = typeof sock.getCipher === 'function' ? sock.getCipher() : null;
    return {
        protocol: typeof sock.getProtocol === 'function' ? sock.getProtocol() : null,
        cipher: cipher ? cipher.name : null,
        authorized: Boolean(sock.authorized) && hasCert,
        authorization_error: sock.authorizationError ? String(sock.authorizationError) : null,
        client_cert: hasCert
            ? {
                subject: certName(peer.subject),
                issuer: certName(peer.issuer),
                serial: peer.serialNumber ?? null,
            }
            : null,
    };
}

function passwordMatches(expected, given) {
    if (given === undefined || given === null) return false;
    const a = Buffer.from(expected, 'utf8');
    const b = Buffer.isBuffer(given) ? given : Buffer.from(String(given), 'utf8');
    return a.length === b.length && crypto.timingSafeEqual(a, b);
}

// Security profile checks; returns null to accept, or [status, reason] to refuse.
function checkSecurity(opts, handshake) {
    const tls = tlsInfo(handshake.request);
    const certOk = Boolean(tls && tls.authorized);
    if (opts.tlsRequireClientCert && !certOk) {
        return [401, 'a valid client certificate is required'];
    }
    if (opts.basicAuth.size && !certOk) {
        const expected = opts.basicAuth.has(handshake.identity)
            ? opts.basicAuth.get(handshake.identity)
            : opts.basicAuth.get('*');
        if (expected === undefined) return [401, 'unknown identity'];
        if (handshake.password === undefined) return [401, 'no Basic auth credentials'];
        if (!passwordMatches(expected, handshake.password)) return [401, 'wrong Basic auth password'];
    }
    return null;
}

// ----------------------------------------------------- Plug & Charge -----
/*
 * The OCA application note "Using ISO 15118 Plug & Charge with OCPP 1.6": the station's
 * Authorize, SignCertificate, Get15118EVCertificate and GetCertificateStatus come as
 * DataTransfer (vendorId PNC_VENDOR, messageId the 2.0.1 action, data the 2.0.1 JSON). The data
 * is checked against the 2.0.1 request schema (the note's messages are 2.0.1's; its
 * TriggerMessage alone has no fields) and answered by the 2.0.1 handler, or by an override set
 * for that action (set_response / set_response_when apply as to a 2.0.1 CALL), whose answer is
 * checked against the 2.0.1 response schema too. Each is printed as a call of method
 * "DataTransfer:<action>". A failed check is a strict_failure of kind "wrapped" and the
 * DataTransfer is answered Rejected.
 */

const PNC_VENDOR = 'org.openchargealliance.iso15118pnc';
const PNC_STATION_MESSAGES = new Set(['Authorize', 'Get15118EVCertificate', 'GetCertificateStatus', 'SignCertificate']);
const validator201 = createValidator('ocpp2.0.1', require('ocpp-rpc/lib/schemas/ocpp2_0_1.json'));

function wrappedFailure(identity, method, direction, params, err) {
    emit({
        event: 'strict_failure',
        identity,
        protocol: 'ocpp1.6',
        method: `DataTransfer:${method}`,
        message_id: null,
        direction,
        kind: 'wrapped',
        params,
        result: null,
        error: { ...errorInfo(err), errors: err?.details?.errors ?? null },
    });
}

function checkWrapped(identity, method, suffix, direction, params) {
    try {
        validator201.validate(`urn:${method}.${suffix}`, params);
        return true;
    } catch (err) {
        wrappedFailure(identity, method, direction, params, err);
        return false;
    }
}

function pncDataTransfer(p, ctx) {
    const method = p.messageId;
    if (!PNC_STATION_MESSAGES.has(method)) return { status: 'UnknownMessageId' };
    let inner;
    try {
        inner = JSON.parse(p.data);
    } catch (err) {
        wrappedFailure(ctx.identity, method, 'in', p.data ?? null, err);
        return { status: 'Rejected' };
    }
    if (!checkWrapped(ctx.identity, method, 'req', 'in', inner)) return { status: 'Rejected' };
    const name = `DataTransfer:${method}`;
    state.callParams.set(`${ctx.identity}|${method}`, inner);
    if (state.quiet) countCall(name);
    else emit({ event: 'call', identity: ctx.identity, protocol: ctx.protocol, method: name, params: inner, wrapped: true });
    const override = findOverride(ctx.identity, method);
    let answer;
    if (override?.error) return { status: 'Rejected' };
    if (override) answer = override.result;
    else if (method === 'SignCertificate') answer = { status: 'Accepted' };
    else answer = handlers201[method](inner, ctx);
    if (!checkWrapped(ctx.identity, method, 'conf', 'out', answer)) return { status: 'Rejected' };
    return { status: 'Accepted', data: JSON.stringify(answer) };
}

// call_pnc: a CSMS request of the note (InstallCertificate, CertificateSigned, ...) wrapped; the
// station's DataTransfer.conf comes back with its data parsed (and checked, when Accepted).
async function opCallPnc(cmd) {
    const client = requireClient(cmd.identity);
    if (typeof cmd.method !== 'string') throw new CommandError('BadCommand', 'method is required');
    const params = cmd.params ?? {};
    const data = typeof cmd.raw_data === 'string' ? cmd.raw_data : JSON.stringify(params);
    const reply = await opCall({
        identity: cmd.identity,
        method: 'DataTransfer',
        params: { vendorId: PNC_VENDOR, messageId: cmd.method, data },
        timeout_ms: cmd.timeout_ms,
    });
    const out = { status: reply.status };
    if (reply.data !== undefined) {
        try {
            out.data = JSON.parse(reply.data);
        } catch (err) {
            wrappedFailure(cmd.identity, cmd.method, 'in', reply.data, err);
            out.raw_data = reply.data;
            return out;
        }
        if (reply.status === 'Accepted') checkWrapped(cmd.identity, cmd.method, 'conf', 'in', out.data);
    }
    return out;
}

// ------------------------------------------------------------ clients ------

let connectionCounter = 0;

function attachClient(client) {
    const identity = client.identity;
    const protocol = client.protocol || null;
    const request = client.handshake.request;
    const path = new URL('http://localhost' + (request.url || '/')).pathname;

    state.clients.set(identity, client);
    // Numbers each connection, so a test can tell which frames came over which one (two
    // processes must never speak for one station at once).
    const conn = ++connectionCounter;
    const connected = {
        event: 'connected',
        conn,
        identity,
        protocol,
        path,
        endpoint: client.handshake.endpoint,
    };
    const tls = tlsInfo(request);
    if (tls) connected.tls = tls;
    state.counts.connects++;
    if (!state.quiet) emit(connected);

    client.on('message', ({ message, outbound }) => {
        if (state.quiet) {
            if (outbound) state.counts.frames_out++;
            else state.counts.frames_in++;
            return;
        }
        const text = Buffer.isBuffer(message) ? message.toString('utf8') : String(message);
        const frame = parseFrame(text);
        const ev = {
            event: 'frame',
            conn,
            identity,
            direction: outbound ? 'out' : 'in',
            frame: frame === undefined ? null : frame,
            ts: Date.now(),
        };
        if (frame === undefined || !Array.isArray(frame)) ev.raw = text;
        emit(ev);
    });

    // OCPP 2.1 SEND frames (message type 6, e.g. NotifyPeriodicEventStream): ocpp-rpc 2.2.1
    // knows CALL, CALLRESULT and CALLERROR only and would answer one with a CALLERROR, which
    // 2.1 forbids (a SEND is never answered). Take them before it does: in strict mode the
    // payload is validated against its schema; each is reported as a "send" event.
    if (protocol === 'ocpp2.1') {
        const onMessage = client._onMessage.bind(client);
        client._onMessage = (buffer) => {
            const text = Buffer.isBuffer(buffer) ? buffer.toString('utf8') : String(buffer);
            const frame = parseFrame(text);
            if (!Array.isArray(frame) || frame[0] !== 6) return onMessage(buffer);
            client.emit('message', { message: buffer, outbound: false });
            receiveSend(client, identity, protocol, frame);
            return undefined;
        };
    }

    client.on('strictValidationFailure', (f) => {
        if (f.error && typeof f.error === 'object') f.error.strictFailure = true;
        emit({
            event: 'strict_failure',
            identity,
            protocol,
            method: f.method,
            message_id: f.messageId,
            direction: f.outbound ? 'out' : 'in',
            kind: f.isCall ? 'call' : 'result',
            params: f.params ?? null,
            result: f.result ?? null,
            error: {
                ...errorInfo(f.error),
                errors: f.error?.details?.errors ?? null,
            },
        });
    });

    client.on('badMessage', ({ buffer, error, response }) => {
        emit({
            event: 'bad_message',
            identity,
            raw: Buffer.isBuffer(buffer) ? buffer.toString('utf8') : String(buffer),
            error: errorInfo(error),
            response: response ?? null,
        });
    });

    // Keep the raw CALLERROR frames the station sent, so a `call` command can
    // report the station's own error code even when ocpp-rpc does not know it.
    const inboundErrors = new Map();
    client.on('response', ({ outbound, payload }) => {
        if (!outbound && Array.isArray(payload) && payload[0] === 4) {
            inboundErrors.set(payload[1], payload);
        }
    });
    client.on('callError', ({ outbound, messageId, error }) => {
        if (outbound && error && typeof error === 'object') {
            error.messageId = messageId;
            const raw = inboundErrors.get(messageId);
            if (raw) {
                error.callErrorFrame = raw;
                inboundErrors.delete(messageId);
            }
        }
    });

    client.once('close', ({ code, reason }) => {
        if (state.clients.get(identity) === client) state.clients.delete(identity);
        state.counts.disconnects++;
        if (!state.quiet) emit({
            event: 'disconnected',
            conn,
            identity,
            code: code ?? null,
            reason: reason == null ? '' : String(reason),
        });
    });

    const table = handlersByProtocol[protocol] ?? {};
    for (const [method, fn] of Object.entries(table)) {
        client.handle(method, async ({ params, messageId }) => {
            scheduleReactions(identity, method, params ?? {});
            // strict validation of the request has already passed when we get here
            if (state.quiet) countCall(method);
            else emit({ event: 'call', identity, protocol, method, params, message_id: messageId });
            const delay = state.delays.get(`${identity}|${method}`) ?? state.delays.get(`*|${method}`);
            if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
            const bad = takeMisbehaviour(identity, method);
            if (bad) {
                return misbehave(client, identity, method, messageId, bad, () =>
                    fn(params ?? {}, { identity, protocol }));
            }
            const override = findOverride(identity, method);
            if (override) {
                if (override.error) {
                    throw createRPCError(
                        override.error.code || 'GenericError',
                        override.error.message || '',
                        override.error.details || {},
                    );
                }
                return override.result;
            }
            return fn(params ?? {}, { identity, protocol });
        });
    }
}

// ------------------------------------------------------ misbehaving mode ---

// A SEND the station sent (2.1): validated like a CALL's params in strict mode (its schema is
// the only one of its action), counted and reported; never answered.
function receiveSend(client, identity, protocol, frame) {
    const [, messageId, method, params] = frame;
    countCall(method);
    if (client._strictProtocols.includes(protocol)) {
        try {
            client._strictValidators.get(protocol).validate(`urn:${method}.req`, params);
        } catch (error) {
            emit({
                event: 'strict_failure',
                identity,
                protocol,
                method,
                message_id: messageId,
                direction: 'in',
                kind: 'send',
                params: params ?? null,
                result: null,
                error: { ...errorInfo(error), errors: error?.details?.errors ?? null },
            });
        }
    }
    if (!state.quiet) {
        emit({ event: 'send', identity, method, params: params ?? null, message_id: messageId, protocol });
    }
}

function takeMisbehaviour(identity, method) {
    const script = state.misbehaviour.get(identity);
    if (!script) return null;
    const index = script.findIndex((step) => step.on === method);
    if (index < 0) return null;
    const [step] = script.splice(index, 1);
    return step;
}

// Answer the CALL `messageId` the way `step` says, bypassing strict mode: the frames go out
// raw and ocpp-rpc sends nothing (NOREPLY).
async function misbehave(client, identity, method, messageId, step, answer) {
    const violation = (kind, frame) => emit({
        event: 'violation', identity, kind, method, message_id: messageId, frame,
    });
    switch (step.answer) {
        case 'invalid_result': {
            const frame = JSON.stringify([3, messageId, step.result ?? { unexpected: true }]);
            client.sendRaw(frame);
            violation('invalid_result', frame);
            return NOREPLY;
        }
        case 'callerror': {
            const frame = JSON.stringify([4, messageId, step.code ?? 'NoSuchCode', step.description ?? '', {}]);
            client.sendRaw(frame);
            violation('callerror', frame);
            return NOREPLY;
        }
        case 'twice': {
            const frame = JSON.stringify([3, messageId, await answer()]);
            client.sendRaw(frame);
            client.sendRaw(frame);
            violation('twice', frame);
            return NOREPLY;
        }
        case 'none':
            violation('none', null);
            return NOREPLY;
        default:
            throw new Error(`unknown misbehaviour ${step.answer}`);
    }
}

// ----------------------------------------------------------- commands ------

class CommandError extends Error {
    constructor(code, message, details) {
        super(message);
        this.code = code;
        this.details = details ?? {};
    }
}

function requireClient(identity) {
    const client = state.clients.get(identity);
    if (!client) throw new CommandError('NotConnected', `no station connected as '${identity}'`);
    return client;
}

async function opCall(cmd) {
    const client = requireClient(cmd.identity);
    if (typeof cmd.method !== 'string') throw new CommandError('BadCommand', 'method is required');
    const options = {};
    if (cmd.timeout_ms !== undefined) options.callTimeoutMs = cmd.timeout_ms;
    try {
        return await client.call(cmd.method, cmd.params ?? {}, options);
    } catch (err) {
        if (err && err.callErrorFrame) {
            const [, , code, description, details] = err.callErrorFrame;
            throw new CommandError(String(code), description ?? '', {
                ...(details && typeof details === 'object' ? { error_details: details } : {}),
                source: 'callerror',
                message_id: err.messageId,
            });
        }
        if (err && err.strictFailure) {
            // our own request, or the station's response, broke the schema
            throw new CommandError(err.rpcErrorCode || 'FormatViolation', err.message, {
                source: 'strict',
                message_id: err.messageId ?? null,
                errors: err.details?.errors ?? null,
            });
        }
        if (err && err.constructor && err.constructor.name === 'TimeoutError') {
            throw new CommandError('Timeout', err.message || 'Call timeout', {
                source: 'timeout',
                message_id: err.messageId ?? null,
            });
        }
        if (err && err.name === 'AbortError') {
            throw new CommandError('Aborted', err.message || 'Call aborted', {
                source: 'aborted',
                message_id: err.messageId ?? null,
            });
        }
        throw new CommandError(err?.rpcErrorCode || 'Error', err?.message || String(err), {
            source: 'local',
        });
    }
}

function checkStatus(status, allowed, what) {
    if (!allowed.includes(status)) {
        throw new CommandError('BadCommand', `${what} must be one of ${allowed.join(', ')}`);
    }
}

async function handleCommand(cmd) {
    switch (cmd.op) {
        case 'call':
            return await opCall(cmd);

        case 'call_pnc':
            return await opCallPnc(cmd);

        case 'set_certificate_status': {
            const statuses = ['Accepted', 'SignatureError', 'CertificateExpired', 'CertificateRevoked',
                'NoCertificateAvailable', 'CertChainError', 'ContractCancelled'];
            checkStatus(cmd.certificate_status, statuses, 'certificate_status');
            if (typeof cmd.id_tag === 'string') state.certificateStatus.set(cmd.id_tag, cmd.certificate_status);
            else state.certificateStatusDefault = cmd.certificate_status;
            return { id_tag: cmd.id_tag ?? null, certificate_status: cmd.certificate_status };
        }

        case 'set_boot': {
            const status = cmd.status ?? 'Accepted';
            checkStatus(status, ['Accepted', 'Pending', 'Rejected'], 'status');
            const interval = cmd.interval ?? 300;
            if (!Number.isInteger(interval)) throw new CommandError('BadCommand', 'interval must be an integer');
            if (cmd.identity) state.bootByIdentity.set(cmd.identity, { status, interval });
            else state.boot = { status, interval };
            return { status, interval, identity: cmd.identity ?? null };
        }

        case 'set_auth': {
            if (typeof cmd.id_tag !== 'string') throw new CommandError('BadCommand', 'id_tag is required');
            const status = cmd.status ?? 'Accepted';
            checkStatus(status, [...OCPP2_AUTH], 'status');
            const entry = { status };
            if (cmd.parent_id_tag) entry.parentIdTag = cmd.parent_id_tag;
            if (cmd.expiry_date) entry.expiryDate = cmd.expiry_date;
            state.auth.set(cmd.id_tag, entry);
            return { id_tag: cmd.id_tag, ...entry };
        }

        case 'set_auth_default': {
            const status = cmd.status ?? 'Accepted';
            checkStatus(status, [...OCPP2_AUTH], 'status');
            state.authDefault = status;
            return { status };
        }

        case 'set_delay': {
            if (typeof cmd.method !== 'string') throw new CommandError('BadCommand', 'method is required');
            const ms = Number(cmd.delay_ms);
            if (!Number.isFinite(ms) || ms < 0 || ms > 60000) throw new CommandError('BadCommand', 'delay_ms must be 0..60000');
            const key = `${cmd.identity ?? '*'}|${cmd.method}`;
            if (ms > 0) state.delays.set(key, ms); else state.delays.delete(key);
            return { key, delay_ms: ms };
        }

        case 'set_response': {
            if (typeof cmd.method !== 'string') throw new CommandError('BadCommand', 'method is required');
            const key = `${cmd.identity ?? '*'}|${cmd.method}`;
            const once = Boolean(cmd.once);
            if (cmd.error) state.overrides.set(key, { error: cmd.error, once });
            else if (cmd.result !== undefined) state.overrides.set(key, { result: cmd.result, once });
            else state.overrides.delete(key);
            return { key, once };
        }

        case 'set_boot_sequence': {
            if (cmd.statuses == null) {
                state.bootSequence = null;
                return { statuses: null };
            }
            if (!Array.isArray(cmd.statuses) || !cmd.statuses.length) {
                throw new CommandError('BadCommand', 'statuses must be a non-empty list');
            }
            for (const status of cmd.statuses) checkStatus(status, ['Accepted', 'Pending', 'Rejected'], 'status');
            const interval = cmd.interval ?? 300;
            if (!Number.isInteger(interval)) throw new CommandError('BadCommand', 'interval must be an integer');
            state.bootSequence = { statuses: cmd.statuses, interval };
            state.bootCounts.clear();
            return state.bootSequence;
        }

        case 'set_reaction': {
            if (typeof cmd.on !== 'string' || typeof cmd.method !== 'string') {
                throw new CommandError('BadCommand', 'on and method are required');
            }
            const delayMs = cmd.delay_ms ?? 100;
            if (!Number.isFinite(delayMs) || delayMs < 0 || delayMs > 60000) {
                throw new CommandError('BadCommand', 'delay_ms must be 0..60000');
            }
            state.reactions.push({
                on: cmd.on,
                method: cmd.method,
                params: cmd.params ?? {},
                when: cmd.when ?? null,
                identity: cmd.identity ?? null,
                delayMs,
                once: cmd.once ?? true,
                fired: new Set(),
            });
            return { reactions: state.reactions.length };
        }

        case 'clear_reactions':
            state.reactions = [];
            return { reactions: 0 };

        case 'set_response_when': {
            if (typeof cmd.method !== 'string' || !cmd.when || typeof cmd.when !== 'object') {
                throw new CommandError('BadCommand', 'method and when are required');
            }
            if (!cmd.error && cmd.result === undefined) {
                throw new CommandError('BadCommand', 'give result or error');
            }
            state.whenOverrides.push({
                method: cmd.method,
                when: cmd.when,
                identity: cmd.identity ?? null,
                ...(cmd.error ? { error: cmd.error } : { result: cmd.result }),
            });
            return { overrides: state.whenOverrides.length };
        }

        case 'close': {
            const client = requireClient(cmd.identity);
            const res = await client.close({
                code: cmd.code ?? 1000,
                reason: cmd.reason ?? '',
                force: Boolean(cmd.force),
            });
            return { code: res?.code ?? null, reason: res?.reason == null ? '' : String(res.reason) };
        }

        case 'send_raw': {
            const client = requireClient(cmd.identity);
            if (Array.isArray(cmd.texts)) {
                // Several frames in one TCP write (the socket corked meanwhile): the station
                // reads them together, e.g. a second CALL before it could answer the first.
                const socket = client._ws && client._ws._socket;
                if (socket) socket.cork();
                for (const text of cmd.texts) client.sendRaw(String(text));
                if (socket) process.nextTick(() => socket.uncork());
                return { sent: cmd.texts.length };
            }
            if (typeof cmd.text !== 'string') throw new CommandError('BadCommand', 'text is required');
            client.sendRaw(cmd.text);
            return { sent: cmd.text.length };
        }

        case 'misbehave': {
            if (typeof cmd.identity !== 'string') throw new CommandError('BadCommand', 'identity is required');
            if (!Array.isArray(cmd.script)) throw new CommandError('BadCommand', 'script must be a list');
            const script = state.misbehaviour.get(cmd.identity) ?? [];
            for (const step of cmd.script) {
                if (typeof step?.on !== 'string') throw new CommandError('BadCommand', 'each step names `on`');
                if (!['invalid_result', 'callerror', 'twice', 'none'].includes(step.answer)) {
                    throw new CommandError('BadCommand', `unknown answer ${step.answer}`);
                }
                script.push(step);
            }
            state.misbehaviour.set(cmd.identity, script);
            return { waiting: script.length };
        }

        case 'list':
            return [...state.clients.entries()].map(([identity, c]) => ({
                identity,
                protocol: c.protocol || null,
            }));

        case 'ping':
            return 'pong';

        case 'counts':
            return { ...state.counts, calls: { ...state.counts.calls }, connected: state.clients.size };

        default:
            throw new CommandError('BadCommand', `unknown op: ${cmd.op}`);
    }
}

// ---------------------------------------------------------- reactions ------
/*
 * Scripted CSMS behaviour for scenario tests (issue 12), driven by these commands:
 *   set_boot_sequence {statuses:[...], interval}  each station's n-th BootNotification is
 *       answered statuses[n] (the last one repeats); {statuses: null} turns it off.
 *   set_reaction {on, method, params, when?, identity?, delay_ms?, once?}  when a station sends
 *       CALL `on` (whose params match `when`, dotted paths), send it CALL `method` `delay_ms`
 *       (default 100) after that CALL arrived. Strings in params: "${transactionId}" (the last
 *       id this CSMS gave the station), "${identity}", "${param.PATH}" (of the triggering
 *       CALL), "${time+N}" / "${time-N}" (the triggering CALL's `timestamp`, or now, plus N
 *       seconds, ISO 8601). once (default true): at most once per station. Each outcome is
 *       printed as {"event":"reaction","identity","on","method","ok","result"|"error"}.
 *   clear_reactions {}
 *   set_response_when {method, when, result | error, identity?}  like set_response, for the
 *       CALLs whose params match `when` only (e.g. {"offline": true}); checked first.
 */

function pathValue(obj, path) {
    let value = obj;
    for (const part of String(path).split('.')) {
        if (value === null || typeof value !== 'object' || !(part in value)) return undefined;
        value = value[part];
    }
    return value;
}

function whenMatches(when, params) {
    if (!when) return true;
    return Object.entries(when).every(([path, expected]) => pathValue(params, path) === expected);
}

function reactionValue(name, identity, params) {
    if (name === 'transactionId') return state.lastTransaction.get(identity);
    if (name === 'identity') return identity;
    if (name.startsWith('param.')) return pathValue(params, name.slice('param.'.length));
    const time = /^time([+-]\d+(?:\.\d+)?)?$/.exec(name);
    if (time) {
        const base = typeof params.timestamp === 'string' ? Date.parse(params.timestamp) : Date.now();
        const offset = time[1] ? Number(time[1]) * 1000 : 0;
        return new Date((Number.isNaN(base) ? Date.now() : base) + offset).toISOString();
    }
    return undefined;
}

function substitute(value, identity, params) {
    if (typeof value === 'string') {
        const whole = /^\$\{([^}]+)\}$/.exec(value);
        if (whole) return reactionValue(whole[1], identity, params);
        return value.replace(/\$\{([^}]+)\}/g, (_, name) => String(reactionValue(name, identity, params)));
    }
    if (Array.isArray(value)) return value.map((v) => substitute(v, identity, params));
    if (value && typeof value === 'object') {
        return Object.fromEntries(
            Object.entries(value).map(([k, v]) => [k, substitute(v, identity, params)]),
        );
    }
    return value;
}

// The answer set_response_when chose for the CALL being handled, if its params match.
function findConditionalOverride(identity, method) {
    const params = state.callParams.get(`${identity}|${method}`) ?? {};
    return state.whenOverrides.find((o) => o.method === method
        && (!o.identity || o.identity === identity) && whenMatches(o.when, params));
}

// A station sent CALL `on`: send it the CALLs of the reactions it triggers, a little later.
function scheduleReactions(identity, on, params) {
    state.callParams.set(`${identity}|${on}`, params);
    for (const reaction of state.reactions) {
        if (reaction.on !== on) continue;
        if (reaction.identity && reaction.identity !== identity) continue;
        if (!whenMatches(reaction.when, params)) continue;
        if (reaction.once && reaction.fired.has(identity)) continue;
        reaction.fired.add(identity);
        setTimeout(async () => {
            const client = state.clients.get(identity);
            const report = { event: 'reaction', identity, on, method: reaction.method };
            if (!client) {
                emit({ ...report, ok: false, error: { code: 'NotConnected', message: '' } });
                return;
            }
            try {
                const callParams = substitute(reaction.params ?? {}, identity, params);
                const result = await client.call(reaction.method, callParams);
                emit({ ...report, ok: true, result });
            } catch (err) {
                emit({ ...report, ok: false, error: errorInfo(err) });
            }
        }, reaction.delayMs);
    }
}

// --------------------------------------------------------------- main ------

async function main() {
    let opts;
    try {
        opts = parseArgs(process.argv.slice(2));
    } catch (err) {
        process.stderr.write(`csms.js: ${err.message}\n`);
        process.exit(2);
    }

    state.quiet = opts.quiet;
    const strictModeValidators = [];
    if (opts.protocols.includes('ocpp2.1')) strictModeValidators.push(buildOcpp21Validator());

    const server = new RPCServer({
        protocols: opts.protocols,
        strictMode: opts.strict,
        strictModeValidators,
    });

    server.auth((accept, reject, handshake) => {
        const refusal = checkSecurity(opts, handshake);
        if (refusal) {
            const path = new URL('http://localhost' + (handshake.request.url || '/')).pathname;
            emit({
                event: 'upgrade_rejected',
                identity: handshake.identity,
                path,
                status: refusal[0],
                reason: refusal[1],
            });
            reject(refusal[0], refusal[1]);
            return;
        }
        const offered = handshake.protocols;
        const chosen = opts.protocols.find(p => offered.has(p));
        if (!chosen && !opts.allowNoProtocol) {
            const path = new URL('http://localhost' + (handshake.request.url || '/')).pathname;
            emit({
                event: 'upgrade_rejected',
                identity: handshake.identity,
                path,
                offered: [...offered],
                reason: 'no supported subprotocol offered',
            });
            reject(400, 'No supported OCPP subprotocol');
            return;
        }
        accept({});
    });

    server.on('client', attachClient);
    server.on('upgradeAborted', ({ error, identity, request }) => {
        emit({
            event: 'upgrade_aborted',
            identity: identity ?? null,
            path: request?.url ?? null,
            reason: error?.message ?? String(error),
        });
    });
    server.on('error', (err) => emit({ event: 'server_error', message: err.message }));

    let httpServer;
    let tlsServer = null;
    if (opts.tlsCert) {
        // ocpp-rpc takes upgrades from any http(s) server (README, "OCPP Security").
        const tlsOptions = {
            cert: fs.readFileSync(opts.tlsCert),
            key: fs.readFileSync(opts.tlsKey),
            minVersion: 'TLSv1.2',
            noDelay: true,
        };
        if (opts.tlsCa) {
            tlsOptions.ca = fs.readFileSync(opts.tlsCa);
            tlsOptions.requestCert = true;
            tlsOptions.rejectUnauthorized = opts.tlsRequireClientCert;
        }
        tlsServer = https.createServer(tlsOptions, (req, res) => {
            res.statusCode = 404;
            res.end();
        });
        tlsServer.on('upgrade', server.handleUpgrade);
        tlsServer.on('tlsClientError', (err) => {
            emit({ event: 'tls_error', message: err?.message ?? String(err), code: err?.code ?? null });
        });
        await new Promise((resolve, reject) => {
            tlsServer.once('error', reject);
            const port = opts.tlsPort !== null ? opts.tlsPort : opts.port;
            tlsServer.listen({ port, host: opts.host }, () => {
                tlsServer.off('error', reject);
                resolve();
            });
        });
        httpServer = tlsServer;
    }
    if (!tlsServer || opts.tlsPort !== null) {
        httpServer = await server.listen(opts.port, opts.host);
    }
    const address = httpServer.address();
    const listening = {
        event: 'listening',
        port: address.port,
        host: opts.host,
        protocols: opts.protocols,
        strict: opts.strict,
    };
    if (tlsServer) {
        listening.tls = { client_ca: Boolean(opts.tlsCa), require_client_cert: opts.tlsRequireClientCert };
        if (opts.tlsPort !== null) listening.tls_port = tlsServer.address().port;
    }
    if (opts.basicAuth.size) listening.basic_auth = [...opts.basicAuth.keys()];
    emit(listening);

    let shuttingDown = false;
    const shutdown = async (exitCode) => {
        if (shuttingDown) return;
        shuttingDown = true;
        const timer = setTimeout(() => process.exit(exitCode), 2000);
        timer.unref();
        try {
            await server.close({ code: 1001, force: true });
            if (tlsServer) {
                tlsServer.close();
                tlsServer.closeAllConnections();
            }
        } catch (e) {
            // ignore: we exit anyway
        }
        process.exit(exitCode);
    };
    process.on('SIGTERM', () => shutdown(0));
    process.on('SIGINT', () => shutdown(0));

    const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
    rl.on('line', (line) => {
        if (!line.trim()) return;
        let cmd;
        try {
            cmd = JSON.parse(line);
        } catch (err) {
            emit({ event: 'command_error', message: `not JSON: ${err.message}`, line });
            return;
        }
        const id = cmd?.id ?? null;
        Promise.resolve()
            .then(() => handleCommand(cmd))
            .then(
                (result) => emit({ reply_to: id, ok: true, result: result === undefined ? null : result }),
                (err) => emit({
                    reply_to: id,
                    ok: false,
                    error: {
                        code: err?.code && typeof err.code === 'string' ? err.code : 'Error',
                        message: err?.message ?? String(err),
                        details: err?.details ?? {},
                    },
                }),
            );
    });
    rl.on('close', () => shutdown(0));
}

main().catch((err) => {
    process.stderr.write(`csms.js: ${err.stack || err}\n`);
    process.exit(1);
});
