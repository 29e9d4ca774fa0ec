"""The media resources as a server component: fax, voicemail, announcements, TTS, pools.

:class:`MediaResources` joins the engines (:mod:`cti.fax`, :mod:`cti.voicemail`,
:mod:`cti.prompts`, :mod:`cti.tts`, :mod:`cti.ivr.resources`) to a server through the
plugin protocol (:mod:`cti.plugin`); none of them knows the server. It needs the contact
centre (``[contact]``), whose public audio it uses: ``listen(circuit, fn)`` for what a
caller sends and ``audio.play(circuit, alaw)`` to send; and it attaches to the centre's IVR
runner (``ivr.attach``) for ``say`` prompts, the ``fax`` / ``voicemail`` menu targets and
the queue overflow to voicemail, and hands the queue prompts its prompt set
(``prompts.use``). Configuration, the ``[media]`` section::

    [media]
    directory = "var/media"      # messages.sqlite, fax/, voicemail/, prompts/, tts/
    language = "zh"              # the prompt set: zh (Mandarin) or en
    prompts = ""                 # a prompt-set directory; default: generated into directory/prompts/<language>
    pools = { fax = 16, voice = 60 }
    stats_every = 10.0           # ResourceUsage events (wallboard, statistics)
    [media.fax]
    ident = "+86 10 12345678"    # our TSI/CSI
    header = ""                  # page header line on faxes we send
    ecm = true
    documents = { price-list = "docs/price.pdf" }   # fax-on-demand names -> files (TIFF-F or PDF)
    [media.voicemail]
    max_seconds = 120
    silence_seconds = 6
    pcm = false                  # 16-bit PCM WAV instead of A-law
    [media.voicemail.callback]   # CallBack through the dialler (cti.contact.callbacks)
    dnc = "dnc.txt"              # do-not-call list; hours, zones, dial_plan, max_attempts, retry_after
    hours = { default = ["09:00", "21:00"] }
    [media.tts]
    engine = "espeak-ng"         # or "command" / "package.module:Class" (docs/ivr.md)
    voice = "cmn"
    timeout = 10.0
    [media.announce]
    agent = { sales = "zh", hotline = "en" }     # queues announcing the agent's work number
    work_numbers = { "7001" = "1024" }           # agent -> work number (default: the agent id)

Events (dicts on the bus, topic ``media.<kind>``): FaxStarted, FaxPage, FaxCompleted,
FaxReceived, VoicemailLeft, VoicemailFailed, MessageHandled, ResourceExhausted,
ResourceUsage, TtsFailed, CallBackPlaced / CallBackWaiting / CallBackRefused
(:mod:`cti.contact.callbacks`: CallBack goes through the outbound dialler). Requests: :mod:`cti.contact.media_requests`. Snapshot sections:
``resources`` (pool usage) and ``messages`` (message waiting per box).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cti.call.errors import InvalidParameterError, InvalidStateError, ResourceBusyError
from cti.plugin import EVERY_BLOCK, Component, Host, Link, Section, serves

from . import media_requests as mr
from cti.ivr.resources import PoolConfigError, ResourceExhausted, ResourcePools
from cti.ivr.session import Hangup, ToFax, ToVoicemail

if TYPE_CHECKING:
    from cti.bus.auth import Account, AccountBook

log = logging.getLogger(__name__)
Circuit = tuple[int, int]

_KEYS = {"directory", "language", "prompts", "pools", "stats_every", "fax", "voicemail", "tts", "announce"}


class MediaConfigError(ValueError):
    """A mistake in ``[media]``, with where it is."""


@dataclass
class MediaConfig:
    directory: Path = Path("var/media")
    language: str = "zh"
    prompts: Path | None = None
    pools: dict[str, int] = field(default_factory=lambda: {"fax": 16, "voice": 60})
    stats_every: float = 10.0
    fax: dict[str, Any] = field(default_factory=dict)
    voicemail: dict[str, Any] = field(default_factory=dict)
    tts: dict[str, Any] = field(default_factory=dict)
    announce: dict[str, Any] = field(default_factory=dict)
    callback: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], base: Path = Path(".")) -> MediaConfig:
        unknown = sorted(set(d) - _KEYS)
        if unknown:
            raise MediaConfigError(f"[media] unknown key(s) {unknown}; known: {sorted(_KEYS)}")
        c = cls()
        c.directory = base / str(d.get("directory", c.directory))
        c.language = str(d.get("language", "zh"))
        if c.language not in ("zh", "en"):
            raise MediaConfigError(f"[media] language must be 'zh' or 'en', not {c.language!r}")
        if d.get("prompts"):
            c.prompts = base / str(d["prompts"])
        c.pools = dict(d.get("pools", c.pools))
        try:
            ResourcePools(c.pools)
        except PoolConfigError as e:
            raise MediaConfigError(str(e)) from None
        c.stats_every = float(d.get("stats_every", 10.0))
        for name in ("fax", "voicemail", "tts", "announce"):
            v = d.get(name, {})
            if not isinstance(v, dict):
                raise MediaConfigError(f"[media.{name}] must be a table")
            setattr(c, name, dict(v))
        bad = sorted(set(c.fax) - {"ident", "header", "ecm", "documents", "timeout", "device"})
        if bad:
            raise MediaConfigError(f"[media.fax] unknown key(s) {bad}")
        docs = c.fax.get("documents", {})
        if not isinstance(docs, dict) or not all(isinstance(v, str) for v in docs.values()):
            raise MediaConfigError("[media.fax] documents maps names to file paths")
        c.fax["documents"] = {k: str(base / v) for k, v in docs.items()}
        cb = c.voicemail.pop("callback", {})
        if not isinstance(cb, dict):
            raise MediaConfigError("[media.voicemail.callback] must be a table")
        c.callback = dict(cb)
        from cti.outbound.callback import KEYS as CALLBACK_KEYS
        bad = sorted(set(c.callback) - CALLBACK_KEYS)
        if bad:
            raise MediaConfigError(f"[media.voicemail.callback] unknown key(s) {bad}; known: {sorted(CALLBACK_KEYS)}")
        if isinstance(c.callback.get("dnc"), str):
            c.callback["dnc"] = str(base / c.callback["dnc"])
        bad = sorted(set(c.voicemail) - {"max_seconds", "silence_seconds", "silence_dbm0", "min_seconds",
                                         "terminator", "pcm"})
        if bad:
            raise MediaConfigError(f"[media.voicemail] unknown key(s) {bad}")
        bad = sorted(set(c.announce) - {"agent", "work_numbers"})
        if bad:
            raise MediaConfigError(f"[media.announce] unknown key(s) {bad}")
        for q, lang in dict(c.announce.get("agent", {})).items():
            if lang not in ("zh", "en"):
                raise MediaConfigError(f"[media.announce] agent.{q} must be 'zh' or 'en', not {lang!r}")
        return c


class MediaResources(Component):
    """See the module docstring. ``centre``: the contact centre component (its audio and IVR)."""

    name = "media"

    def __init__(self, config: MediaConfig, centre: Any) -> None:
        from cti.fax.session import FaxOptions
        from cti.voicemail.recorder import MessageSpec

        self.config = config
        self.centre = centre
        mr.register()
        self.pools = ResourcePools(config.pools)
        f = config.fax
        self.fax_options = FaxOptions(ecm=bool(f.get("ecm", True)), ident=str(f.get("ident", "")),
                                      header=str(f.get("header", "")), timeout=float(f.get("timeout", 300.0)))
        try:
            self.spec = MessageSpec(**config.voicemail)
        except (TypeError, ValueError) as e:
            raise MediaConfigError(f"[media.voicemail] {e}") from None
        self.prompt_sets: dict[str, Any] = {}
        self.counters = {"fax_sent": 0, "fax_received": 0, "fax_failed": 0, "voicemail": 0, "tts_failed": 0}
        self._unlisten: dict[str, Callable[[], None]] = {}
        self._dialled: dict[str, tuple[str, float]] = {}     #: call we placed -> (document path, when)
        self._next_usage: float | None = None
        self._overflow: dict[str, str] = {}                   #: call diverted to voicemail -> its queue
        self.campaigns: dict[str, Any] = {}                   #: name -> cti.fax.campaign.FaxCampaign
        self._no_takeover: set[str] = set()                   #: calls whose closing prompt ends the call
        self._last_usage: dict[str, Any] = {}

    # ---- lifespan ------------------------------------------------------------------------------------
    def start(self, host: Host) -> None:
        from cti.fax.runner import FaxInbox, FaxRunner
        from cti.tts import TtsService, make_engine
        from cti.voicemail.messages import MessageStore
        from cti.voicemail.service import VoicemailService

        self.host = host
        d = self.config.directory
        d.mkdir(parents=True, exist_ok=True)
        db = getattr(getattr(host.bus, "store", None), "path", None)     # a SQLite store: its database
        self.store = MessageStore(db if isinstance(db, str) and db != ":memory:" else d / "messages.sqlite")
        self.inbox = FaxInbox(d / "fax", self.store)
        self.fax = FaxRunner(self._write, pools=self.pools, inbox=self.inbox, options=self.fax_options)
        tts_cfg = dict(self.config.tts)
        self.voice = str(tts_cfg.pop("voice", "cmn" if self.config.language == "zh" else "en-us"))
        timeout = float(tts_cfg.pop("timeout", 10.0))
        self.tts = TtsService(make_engine(tts_cfg), cache_dir=d / "tts", timeout=timeout)
        prompts = self.prompt_set(self.config.language)
        self.voicemail = VoicemailService(self._write, self.store, d / "voicemail", prompts=prompts,
                                          pools=self.pools, spec=self.spec)
        self.centre.ivr.attach(self)
        self.centre.announce_agents(self.agent_announcement)
        self.centre.add_statistics("resources", self._usage)
        from cti.outbound.campaign import CampaignError
        from .callbacks import VoicemailCallbacks
        try:
            self.callbacks = VoicemailCallbacks(self.config.callback, self.centre, self._publish, self._handled)
        except CampaignError as e:
            raise MediaConfigError(f"[media.voicemail.callback] {e}") from None
        if prompts is not None:
            self.centre.prompts.use(prompts)

    def stop(self) -> None:
        now = self.host.now()
        for call in list(self.fax.jobs):
            self._publish_all(self.fax.hangup(call, now))
        for call in list(self.voicemail.legs):
            self._publish_all(self.voicemail.hangup(call, now))
        self.tts.close()
        self.store.close()

    def prompt_set(self, language: str) -> Any:
        """The prompt set of ``language`` (generated on first use), or None when it cannot be had."""
        if language not in self.prompt_sets:
            from cti.prompts import PromptError, PromptSet, shipped
            from cti.tts import TtsError
            try:
                if self.config.prompts is not None and language == self.config.language:
                    self.prompt_sets[language] = PromptSet.load(self.config.prompts)
                else:
                    self.prompt_sets[language] = shipped(language, self.config.directory / "prompts" / language)
            except (PromptError, TtsError, OSError) as e:
                log.error("no %s prompt set: %s (announcements in that language are silent)", language, e)
                self.prompt_sets[language] = None
        return self.prompt_sets[language]

    # ---- the plugin protocol --------------------------------------------------------------------------
    def deadline(self) -> float | None:
        if self.fax.jobs or self.voicemail.legs or self.voicemail.playbacks or self._dialled or self.campaigns \
                or self.callbacks.waiting():
            return EVERY_BLOCK
        return EVERY_BLOCK if self._next_usage is None else self._next_usage

    def service(self, now: float) -> None:
        self._dial_campaigns(now)
        self.callbacks.service(now)
        self._publish_all(self.fax.tick(now))
        self._publish_all(self.voicemail.tick(now))
        for call, err in self.centre.ivr.errors:
            self._publish({"type": "TtsFailed", "topic": "media.tts", "call": call, "error": err})
        self.centre.ivr.errors.clear()
        if self._next_usage is None or now >= self._next_usage:
            self._next_usage = now + self.config.stats_every
            self._publish_usage(force=True)
        else:
            self._publish_usage()

    def events(self) -> Collection[str]:
        return ("CallCleared", "DigitsDialed", "CallDiverted", "Established", "Failed")

    def on_event(self, e: Any) -> None:
        kind = type(e).__name__
        now = self.host.now()
        call = getattr(e, "call", None)
        if call is None:
            return
        if kind == "CallCleared":
            self._publish_all(self.fax.hangup(call, now))
            self._publish_all(self.voicemail.hangup(call, now))
            self._stop_listening(call)
            self._overflow.pop(call, None)
            if self._dialled.pop(call, None) is not None:
                self._fax_not_reached(call, f"call cleared before answer (cause {getattr(e, 'cause', None)})")
        elif kind == "DigitsDialed":
            for d in str(getattr(e, "digits", "")):
                self.voicemail.digit(call, d, now)
        elif kind == "CallDiverted" and (getattr(e, "data", None) or {}).get("to") == "voicemail":
            self._overflow[call] = str(getattr(e, "queue", ""))
        elif kind == "Established" and call in self._dialled:
            path, _ = self._dialled.pop(call)
            self._start_fax_on(call, path, now)
        elif kind == "Failed" and call in self._dialled:
            self._dialled.pop(call, None)
            self._fax_not_reached(call, f"call failed (cause {getattr(e, 'cause', None)})")

    def requests(self) -> Mapping[str, Link]:
        own: dict[str, Callable[[Any, Any, float], dict[str, Any]]] = {
            "SendFax": self._send_fax, "ReceiveFax": self._receive_fax, "LeaveVoicemail": self._leave_voicemail,
            "ListMessages": self._list_messages, "GetMessage": self._get_message, "PlayMessage": self._play_message,
            "MarkMessage": self._mark_message, "CallBack": self._call_back, "Say": self._say,
            "StartFaxCampaign": self._start_campaign,
            "GetResources": lambda account, req, t: {"pools": self.pools.usage()}}
        return {name: serves(fn) for name, fn in own.items()}

    def sections(self) -> Mapping[str, Section]:
        return {"resources": self._resources_section, "messages": self._messages_section}

    # ---- what the IVR asks (cti.contact.ivr.MediaHooks) -----------------------------------------------
    def say(self, text: str, voice: str | None) -> Any:
        return self.tts.say(text, voice or self.voice)

    def ivr_handoff(self, call: str, circuit: Circuit, action: ToFax | ToVoicemail, now: float) -> list[Any]:
        try:
            if isinstance(action, ToFax) and action.to:      # fax later to the number the caller keyed
                self._fax_later(call, circuit, action, now)
                return []
            if isinstance(action, ToFax):
                self._start_fax(call, circuit, self._document(action.document), now)
            else:
                caller = self._caller(call)
                self._listen(call, circuit, self.voicemail.audio)
                self.voicemail.leave(call, circuit, box=action.box, caller=caller, now=now)
        except Exception as e:  # no resource, bad document: the caller is released with the reason
            log.warning("IVR %s on call %s: %s", type(action).__name__, call, e)
            self._stop_listening(call)
            self._exhausted(getattr(e, "event", None))
            return [Hangup(f"{type(action).__name__}: {e}")]
        return []

    def after_prompt(self, call: str, circuit: Circuit, now: float) -> bool:
        """The queue's overflow-to-voicemail prompt has played: record the message (beep first)."""
        if call in self._no_takeover:          # our own closing prompt ("fax_later"): let the caller go
            self._no_takeover.discard(call)
            return False
        try:
            self._listen(call, circuit, self.voicemail.audio)
            self.voicemail.leave(call, circuit, box=self._overflow.pop(call, "") or "voicemail",
                                 caller=self._caller(call), now=now, greeting=b"")
        except Exception as e:
            log.warning("voicemail for call %s: %s", call, e)
            self._stop_listening(call)
            self._exhausted(getattr(e, "event", None))
            return False
        return True

    def ivr_port(self, call: str, take: bool) -> bool:
        """An IVR menu holds a ``voice`` channel while it runs (the plan's "IVR 60 lines")."""
        if not take:
            self.pools.release("voice", call)
            return True
        if self.pools.acquire("voice", call):
            return True
        self._exhausted(ResourceExhausted("voice", call, self.pools.pools["voice"].size, "busy prompt"))
        self._no_takeover.add(call)          # the busy prompt ends the call: no voicemail after it
        return False

    def busy_audio(self) -> bytes:
        ps = self.prompt_set(self.config.language)
        return bytes(ps.compose(["busy"], strict=False)) if ps is not None else b""

    # ---- fax --------------------------------------------------------------------------------------------
    def _document(self, name: str) -> Path:
        from cti.fax import document

        path = Path(self.config.fax.get("documents", {}).get(name, name))
        if not path.is_file():
            raise InvalidParameterError(f"fax document {name!r} not found", field="document")
        if path.suffix.lower() in (".tif", ".tiff"):
            try:
                document.check(path)
                return path
            except document.FaxDocumentError:
                pass
        out = self.config.directory / "fax" / "outgoing" / (path.stem + ".tif")
        out.parent.mkdir(parents=True, exist_ok=True)
        if not out.is_file() or out.stat().st_mtime < path.stat().st_mtime:
            try:
                document.prepare(path, out)
            except document.FaxDocumentError as e:
                raise InvalidParameterError(str(e), field="document") from None
        return out

    def _start_fax(self, call: str, circuit: Circuit, path: Path, now: float) -> None:
        from cti.fax.document import FaxDocumentError
        from cti.fax.runner import FaxBusy

        self._listen(call, circuit, self.fax.audio)
        try:
            self.fax.send(call, circuit, path, now)
        except FaxBusy as e:
            self._stop_listening(call)
            self._exhausted(e.event)
            raise ResourceBusyError(str(e)) from None
        except FaxDocumentError as e:
            self._stop_listening(call)
            raise InvalidParameterError(str(e), field="document") from None
        self._user_data(call, {"media": "fax-send", "fax_document": path.name})

    def _start_fax_on(self, call: str, path: str, now: float) -> None:
        try:
            self._start_fax(call, self._circuit(call), Path(path), now)
        except Exception as e:
            self._fax_not_reached(call, str(e))

    def _fax_not_reached(self, call: str, why: str) -> None:
        self.counters["fax_failed"] += 1
        self._campaign_result(call, False, -1, why, 0)
        self._publish({"type": "FaxCompleted", "topic": "media.fax", "call": call, "direction": "send", "ok": False,
                       "result": -1, "reason": why, "pages": 0, "bit_rate": 0, "ecm": False, "path": "",
                       "remote_ident": "", "seconds": 0.0})

    def _send_fax(self, account: Any, req: mr.SendFax, t: float) -> dict[str, Any]:
        path = self._document(req.document)
        if (req.call is None) == (req.number is None):
            raise InvalidParameterError("SendFax needs exactly one of call or number", field="call")
        if req.call is not None:
            self._start_fax(req.call, self._circuit(req.call), path, t)
            return {"call": req.call, "pages": len(_pages(path))}
        if self.pools.pools["fax"].busy >= self.pools.pools["fax"].size:
            self.pools.pools["fax"].refused += 1
            self._exhausted(ResourceExhausted("fax", "", self.pools.pools["fax"].size, "refused"))
            raise ResourceBusyError(f"no fax channel free (all {self.pools.pools['fax'].size} in use)")
        res = self.host.model.make_call(req.device, req.number, t)
        self._dialled[res["call"]] = (str(path), t)
        return {"call": res["call"], "pages": len(_pages(path))}

    def _receive_fax(self, account: Any, req: mr.ReceiveFax, t: float) -> dict[str, Any]:
        from cti.fax.runner import FaxBusy

        circuit = self._circuit(req.call)
        call = self.host.model.calls.get(req.call)
        if call is not None and not call.answered:
            self.host.model.answer_call(req.call, t)
        self._listen(req.call, circuit, self.fax.audio)
        try:
            self.fax.receive(req.call, circuit, t, caller=self._caller(req.call), box=req.box)
        except FaxBusy as e:
            self._stop_listening(req.call)
            self._exhausted(e.event)
            raise ResourceBusyError(str(e)) from None
        self._user_data(req.call, {"media": "fax-receive"})
        return {"call": req.call}

    def _fax_later(self, call: str, circuit: Circuit, action: ToFax, now: float) -> None:
        """A one-number campaign to ``action.to``; the caller hears ``fax_later`` and is released."""
        from cti.fax.campaign import CampaignError, FaxCampaign

        path = self._document(action.document)
        name = f"ivr-{call}"
        try:
            self.campaigns[name] = FaxCampaign(name, str(path), [action.to], str(self.config.fax.get("device", "fax")),
                                               1, 2, 60.0)
        except CampaignError as e:
            raise InvalidParameterError(str(e), field="to") from None
        ps = self.prompt_set(self.config.language)
        audio = ps.compose(["fax_later"], strict=False) if ps is not None else b""
        self.centre.ivr.play_audio(call, circuit, audio or b"\xd5" * 160, then_hangup=True)
        self._no_takeover.add(call)

    # ---- fax campaigns ---------------------------------------------------------------------------------
    def _start_campaign(self, account: Any, req: Any, t: float) -> dict[str, Any]:
        from cti.fax.campaign import CampaignError, FaxCampaign

        if req.name in self.campaigns:
            raise InvalidStateError(f"fax campaign {req.name!r} is running")
        path = self._document(req.document)
        try:
            c = FaxCampaign(req.name, str(path), list(req.numbers), req.device, req.concurrency, req.retries,
                            req.retry_after)
        except CampaignError as e:
            raise InvalidParameterError(str(e), field="numbers") from None
        self.campaigns[req.name] = c
        return {"campaign": req.name, "numbers": c.summary()["numbers"]}

    def _dial_campaigns(self, now: float) -> None:
        for c in list(self.campaigns.values()):
            pool = self.pools.pools["fax"]
            free = pool.size - pool.busy - len(self._dialled)
            for number in c.due(now, max(0, free)):
                try:
                    res = self.host.model.make_call(c.device, number, now)
                except Exception as e:  # no free circuit, a bad device: a failed attempt, tried again later
                    self._campaign_progress(c, c.not_dialled(number, str(e), now))
                    continue
                self._dialled[res["call"]] = (c.document, now)
                c.dialled(number, res["call"], now)
            self.host.flush_model()

    def _campaign_result(self, call: str, ok: bool, result: int, reason: str, pages: int) -> None:
        for c in list(self.campaigns.values()):
            if c.owns(call):
                self._campaign_progress(c, c.finished(call, ok, result, reason, pages, self.host.now()))

    def _campaign_progress(self, c: Any, progress: dict[str, Any]) -> None:
        self._publish({"type": "FaxCampaignProgress", "topic": "media.fax", **progress})
        if c.done:
            self.campaigns.pop(c.name, None)
            self._publish({"type": "FaxCampaignEnded", "topic": "media.fax", "campaign": c.name,
                           "summary": c.summary(), "results": c.results})

    # ---- voicemail and messages ---------------------------------------------------------------------------
    def _leave_voicemail(self, account: Any, req: mr.LeaveVoicemail, t: float) -> dict[str, Any]:
        from cti.voicemail.service import VoicemailError

        circuit = self._circuit(req.call)
        self._listen(req.call, circuit, self.voicemail.audio)
        try:
            self.voicemail.leave(req.call, circuit, box=req.box, caller=self._caller(req.call), now=t)
        except VoicemailError as e:
            self._stop_listening(req.call)
            self._exhausted(e.event)
            raise ResourceBusyError(str(e)) from None
        self.centre.leave_queue(req.call, f"voicemail:{req.box}", "voicemail")   # no agent is offered it now
        return {"call": req.call, "box": req.box}

    def _list_messages(self, account: Any, req: mr.ListMessages, t: float) -> dict[str, Any]:
        from cti.voicemail.messages import KINDS

        if req.kind not in KINDS:
            raise InvalidParameterError(f"kind must be one of {list(KINDS)}", field="kind")
        return {"messages": [m.to_dict() for m in self.store.list(req.kind, box=req.box, status=req.status,
                                                                  limit=req.limit)]}

    def _message(self, msg_id: int) -> Any:
        from cti.voicemail.messages import MessageError

        try:
            return self.store.get(msg_id)
        except MessageError as e:
            raise InvalidParameterError(str(e), field="id") from None

    def _get_message(self, account: Any, req: mr.GetMessage, t: float) -> dict[str, Any]:
        m = self._message(req.id)
        content = b""
        if req.content:
            p = Path(m.path)
            if not p.is_file():
                raise InvalidStateError(f"message {req.id}: its file {p} is gone")
            if p.stat().st_size > 16 * 1024 * 1024:
                raise InvalidParameterError(f"message {req.id} is too large to send on the bus", field="content")
            content = p.read_bytes()
        return {"message": m.to_dict(), "content": content}

    def _play_message(self, account: Any, req: mr.PlayMessage, t: float) -> dict[str, Any]:
        station = self.centre.audio.station(req.device)
        if station is None:
            raise InvalidParameterError(f"device {req.device} has no station to play to", field="device")
        m = self._message(req.id)
        if m.kind != "voicemail":
            raise InvalidParameterError(f"message {req.id} is a {m.kind}, not a voicemail", field="id")
        try:
            seconds = self.voicemail.play(req.id, station)
        except (OSError, ValueError) as e:
            raise InvalidStateError(f"message {req.id} cannot be played: {e}") from None
        return {"id": req.id, "seconds": round(seconds, 2)}

    def _mark_message(self, account: Any, req: mr.MarkMessage, t: float) -> dict[str, Any]:
        from cti.voicemail.messages import MessageError

        try:
            m = self.store.set_status(req.id, req.status)
        except MessageError as e:
            raise InvalidParameterError(str(e), field="status" if "status" in str(e) else "id") from None
        self._publish({"type": "MessageHandled", "topic": f"media.{m.kind}", "id": m.id, "kind": m.kind,
                       "box": m.box, "status": m.status, "by": getattr(account, "name", "")})
        return {"id": m.id, "status": m.status}

    def _call_back(self, account: Any, req: mr.CallBack, t: float) -> dict[str, Any]:
        """Through the outbound dialler (:mod:`cti.contact.callbacks`): placed now, or waiting."""
        return self.callbacks.request(self._message(req.id), req.device, getattr(account, "name", ""), self.host.now())

    def _handled(self, msg_id: int, by: str) -> None:
        m = self.store.set_status(msg_id, "handled")
        self._publish({"type": "MessageHandled", "topic": f"media.{m.kind}", "id": m.id, "kind": m.kind,
                       "box": m.box, "status": m.status, "by": by})

    def _say(self, account: Any, req: mr.Say, t: float) -> dict[str, Any]:
        circuit = self._circuit(req.call)
        job = self.tts.say(req.text, req.voice or self.voice)
        self._pending_say(req.call, circuit, job)
        return {"call": req.call, "cached": job.cached}

    def _pending_say(self, call: str, circuit: Circuit, job: Any) -> None:
        """Play a TTS job on ``call`` when it is ready (checked every block by the IVR runner)."""
        leg = self.centre.ivr.legs.get(call)
        if leg is None:
            self.centre.ivr.play_audio(call, circuit, b"")
            leg = self.centre.ivr.legs[call]
        leg.tts = job

    # ---- announcements -------------------------------------------------------------------------------------
    def agent_announcement(self, queue: str, agent: str) -> bytes:
        """What the caller hears before meeting ``agent`` from ``queue`` (``[media.announce]``):
        the agent's work number in the queue's language, or nothing."""
        lang = dict(self.config.announce.get("agent", {})).get(queue)
        if lang is None or not agent:
            return b""
        work = str(dict(self.config.announce.get("work_numbers", {})).get(agent, agent))
        ps = self.prompt_set(lang)
        if ps is None:
            return b""
        try:
            return bytes(ps.agent_number(work, strict=False))
        except ValueError as exc:        # a work number that is not digits
            log.warning("agent %s: work number %r cannot be announced: %s", agent, work, exc)
            return b""

    # ---- helpers --------------------------------------------------------------------------------------------
    def _write(self, circuit: Circuit, alaw: bytes) -> None:
        self.centre.audio.play(circuit, alaw)

    def _listen(self, call: str, circuit: Circuit, fn: Callable[[Circuit, bytes, float], None]) -> None:
        self._stop_listening(call)
        self._unlisten[call] = self.centre.listen(circuit, lambda alaw, t: fn(circuit, alaw, t))

    def _stop_listening(self, call: str) -> None:
        stop = self._unlisten.pop(call, None)
        if stop is not None:
            stop()

    def _circuit(self, call: str) -> Circuit:
        c = self.host.model.calls.get(call)
        if c is None:
            raise InvalidParameterError(f"no call {call}", field="call")
        circ = c.circuit()
        if circ is None:
            raise InvalidStateError(f"call {call} has no trunk circuit")
        return circ

    def _caller(self, call: str) -> str:
        c = self.host.model.calls.get(call)
        return str(c.calling or "") if c is not None else ""

    def _user_data(self, call: str, data: dict[str, str]) -> None:
        if call in self.host.model.calls:
            try:
                self.host.model.update_user_data(call, data, self.host.now())
                self.host.flush_model()
            except Exception as e:  # the CDR note is best effort: never stop the fax for it
                log.debug("user data on %s: %s", call, e)

    def _exhausted(self, ev: ResourceExhausted | None) -> None:
        if ev is not None:
            self._publish({**ev.to_dict(), "topic": "media.pool"})

    def _publish(self, d: dict[str, Any]) -> None:
        self.host.publish(d)

    def _publish_all(self, events: list[Any]) -> None:
        from cti.voicemail.service import HangupAfter

        for ev in events:
            if isinstance(ev, HangupAfter):
                self._stop_listening(ev.call)
                if ev.call in self.host.model.calls:
                    self.host.model.clear_connection(ev.call, self.host.now())
                    self.host.flush_model()
                continue
            d = ev.to_dict()
            kind = d["type"]
            topic = {"Fax": "media.fax", "Voi": "media.voicemail", "Res": "media.pool"}.get(kind[:3], "media")
            self._count(kind, d)
            self._publish({**d, "topic": topic})
            if kind == "FaxCompleted":           # T.30 ended with DCN: the call has nothing more to carry
                self._campaign_result(d["call"], d["ok"], d["result"], d["reason"], d["pages"])
                self._stop_listening(d["call"])
                self._user_data(d["call"], {"fax_pages": str(d["pages"]), "fax_result": str(d["result"]),
                                            "fax_rate": str(d["bit_rate"])})
                if d["call"] in self.host.model.calls:
                    self.host.model.clear_connection(d["call"], self.host.now())
                    self.host.flush_model()

    def _count(self, kind: str, d: dict[str, Any]) -> None:
        if kind == "FaxCompleted":
            key = ("fax_sent" if d["direction"] == "send" else "fax_received") if d["ok"] else "fax_failed"
            self.counters[key] += 1
        elif kind == "VoicemailLeft":
            self.counters["voicemail"] += 1

    def _usage(self) -> dict[str, Any]:
        return {"pools": self.pools.usage(), "counters": dict(self.counters),
                "waiting": self.voicemail.waiting(), "tts": dict(self.tts.stats)}

    def _publish_usage(self, force: bool = False) -> None:
        u = self._usage()
        busy = {k: v["busy"] for k, v in u["pools"].items()}
        if force or busy != self._last_usage:
            self._last_usage = busy
            self._publish({"type": "ResourceUsage", "topic": "media.pool", **u})

    def _resources_section(self, account: Account, book: AccountBook) -> list[dict[str, Any]]:
        return [{"kind": k, **v} for k, v in self.pools.usage().items()]

    def _messages_section(self, account: Account, book: AccountBook) -> list[dict[str, Any]]:
        return [{"box": box, "waiting": n} for box, n in sorted(self.voicemail.waiting().items())]


def _pages(path: Path) -> list[Any]:
    from cti.fax import document

    return document.check(path)
