"""Talk-off corpus for the tone receivers (DTMF, MF): real speech and synthetic music.

Speech is made at test time by espeak-ng (several voices and languages, Mandarin
included; more than ten minutes in total), music by ``sox synth`` (plucked chords,
arpeggios, sweeps, square and triangle melodies). Both are resampled to 8 kHz int16 and
cached under ``tests/.cache/audio_corpus/`` keyed by a hash of the recipe (text, voice,
pitch, speed, gain, sox arguments and the tool versions), so an empty cache only costs
a few seconds and a changed recipe is rebuilt. When espeak-ng or sox is missing the
caller's test is skipped (``pytest.skip``) with the reason.

    talkoff_speech() -> [(name, int16 array), ...]   >= 600 s in total
    talkoff_music()  -> [(name, int16 array), ...]
    white_noise(n, level_dbm0, seed) -> int16 array  (flat over 0-4 kHz)
    dbm0_amplitude(level) -> float                   (peak of a sine at ``level`` dBm0)
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

__all__ = ["talkoff_speech", "talkoff_music", "white_noise", "dbm0_amplitude", "DBM0_PEAK",
           "speech_seconds"]

CACHE = Path(__file__).resolve().parent / ".cache" / "audio_corpus"
RATE = 8000

#: Peak of a 0 dBm0 sine in 16-bit linear PCM (A-law: +3.14 dBm0 overload, G.711 Table 1/2,
#: scaled to the decoder's 16-bit range); the same figure as _boardcore.mf_py.DBM0_PEAK.
DBM0_PEAK = 22812.0

_TEXTS: dict[str, str] = {
    "en": (
        "Thank you for calling the customer service centre. Your call is important to us, so please "
        "stay on the line and the next available agent will answer. If you know the extension of the "
        "person you wish to reach, you may dial it at any time. For billing questions, press one. For "
        "technical support, press two. To hear these options again, stay on the line. Good morning, "
        "this is Margaret speaking, how can I help you today? I am calling about the invoice I received "
        "last Thursday, the amount seems higher than usual and I would like to understand the charges "
        "for the international calls. Let me check that for you, could you give me the account number "
        "and the postcode please? Certainly, it is four seven nine two, eight eight one, and the postcode "
        "is south west one. Thank you very much, one moment while I look at the details. "
    ),
    "de": (
        "Guten Tag, Sie sind verbunden mit der Zentrale der Stadtwerke. Alle Leitungen sind im Moment "
        "belegt, bitte haben Sie einen Augenblick Geduld. Ihr Anruf wird in der Reihenfolge des Eingangs "
        "bearbeitet. Wenn Sie eine Störung melden möchten, bleiben Sie bitte am Apparat. Hallo, hier "
        "spricht Herr Schneider aus der Buchhaltung, ich rufe wegen der Rechnung vom vergangenen Monat "
        "an. Die Zählernummer lautet drei vier acht sieben, und der Ablesewert war deutlich niedriger. "
        "Könnten Sie das bitte prüfen und mir eine korrigierte Rechnung schicken? Selbstverständlich, "
        "ich schaue mir das sofort an und melde mich heute Nachmittag noch einmal bei Ihnen. "
    ),
    "fr": (
        "Bonjour et bienvenue au service clientèle. Toutes nos lignes sont actuellement occupées, nous "
        "vous remercions de patienter quelques instants. Votre appel sera traité dans l'ordre d'arrivée. "
        "Allô, bonjour madame, je vous appelle au sujet de ma commande numéro neuf cent quarante deux. "
        "Elle devait être livrée mardi dernier et je n'ai toujours rien reçu. Pouvez-vous vérifier où "
        "se trouve le colis? Bien sûr monsieur, je regarde tout de suite. Il semble que le transporteur "
        "ait eu un retard à cause de la grève, la livraison est prévue pour demain matin entre huit "
        "heures et midi. Je vous envoie un message de confirmation dès que possible. "
    ),
    "es": (
        "Buenas tardes, ha llamado a la oficina de atención al cliente. En este momento todos nuestros "
        "operadores están ocupados, por favor no cuelgue. Su llamada es muy importante para nosotros. "
        "Hola, buenas tardes, quería consultar el estado de mi solicitud. El número de expediente es "
        "siete tres cinco ocho, la presenté hace dos semanas y todavía no he recibido respuesta. "
        "Un momento por favor, voy a comprobarlo en el sistema. Su solicitud ya está aprobada y le "
        "enviaremos la documentación por correo esta misma semana. ¿Necesita algo más? No, muchas "
        "gracias por su ayuda, que tenga un buen día. "
    ),
    "cmn": (
        "您好，欢迎致电客户服务中心。我们的座席目前都在忙，请您稍候，我们会尽快为您服务。"
        "查询话费请按一，办理业务请按二，人工服务请按零。喂，您好，我想问一下我上个月的账单，"
        "怎么比平时多了一百多块钱？请您告诉我您的手机号码和身份证后四位，我帮您查一下。"
        "好的，号码是一三九八八七六五四三二，身份证后四位是五六七八。谢谢您，请稍等。"
        "查到了，您上个月有几次国际长途，所以费用比较高。今天天气很好，我们一起去公园散步吧。"
        "各位旅客请注意，开往上海的列车即将进站，请在黄线以外等候。妈妈骑马，马慢，妈妈骂马。"
    ),
    "it": (
        "Buongiorno, avete chiamato il servizio clienti. Tutti i nostri operatori sono occupati, vi "
        "preghiamo di restare in linea. Pronto, buongiorno, chiamo per un problema con la connessione "
        "internet, da ieri sera la linea si interrompe ogni dieci minuti. Mi può dare il codice cliente? "
        "Certo, è otto sei due uno, intestato a Rossi Giovanni. Grazie, adesso faccio una verifica "
        "sulla centrale e le mando un tecnico domani mattina. "
    ),
    "ru": (
        "Здравствуйте, вы позвонили в справочную службу. Все операторы сейчас заняты, пожалуйста, "
        "оставайтесь на линии. Алло, добрый день, я хотел бы узнать расписание поездов до Москвы на "
        "завтра. Первый поезд отправляется в шесть часов сорок минут, следующий в девять пятнадцать. "
        "Спасибо большое, а сколько стоит билет в купе? Около трёх тысяч рублей. "
    ),
    "pt": (
        "Bom dia, bem-vindo ao nosso serviço de apoio ao cliente. Por favor aguarde, a sua chamada "
        "será atendida pelo próximo operador disponível. Olá, bom dia, estou a ligar por causa da "
        "fatura da eletricidade, o valor deste mês está muito alto. Pode indicar-me o número de "
        "contribuinte? Sim, é dois cinco sete nove. Obrigado, vou verificar agora mesmo. "
    ),
}

#: (language, espeak-ng voice, pitch 0-99, speed wpm, peak level dBFS): three renderings of
#: most texts with different voices, pitch and speed, so the corpus covers low and high voices.
_SPEECH_RECIPES: list[tuple[str, str, int, int, float]] = [
    ("en", "en-us", 40, 165, -1.0), ("en", "en+f3", 75, 175, -6.0), ("en", "en+m3", 25, 150, -12.0),
    ("en", "en-us+f4", 90, 190, -3.0),
    ("de", "de", 45, 160, -2.0), ("de", "de+f2", 80, 170, -9.0), ("de", "de+m1", 20, 150, -4.0),
    ("fr", "fr", 50, 165, -2.0), ("fr", "fr+f3", 85, 175, -8.0), ("fr", "fr+m2", 30, 155, -5.0),
    ("es", "es", 50, 170, -2.0), ("es", "es+f1", 80, 180, -7.0), ("es", "es+m3", 25, 160, -4.0),
    ("cmn", "cmn", 50, 150, -1.0), ("cmn", "cmn+f3", 85, 160, -6.0), ("cmn", "cmn+m3", 25, 140, -3.0),
    ("cmn", "cmn+f2", 70, 175, -10.0),
    ("it", "it", 50, 165, -3.0), ("it", "it+f3", 80, 175, -6.0),
    ("ru", "ru", 40, 160, -3.0), ("ru", "ru+f2", 75, 170, -8.0),
    ("pt", "pt", 45, 165, -3.0), ("pt", "pt+f4", 85, 175, -6.0),
]

#: Music made by sox synth: (name, list of voices, peak dBFS). A voice is (start s, seconds,
#: synth arguments); voices are mixed in numpy, then normalised.
_CHORDS = [(196.0, 247.0, 294.0), (220.0, 277.2, 329.6), (261.6, 329.6, 392.0, 493.9),
           (293.7, 370.0, 440.0), (349.2, 440.0, 523.3, 659.3), (392.0, 493.9, 587.3),
           (440.0, 554.4, 659.3, 880.0), (523.3, 659.3, 784.0)]


def _music_recipes() -> list[tuple[str, list[tuple[float, float, list[str]]], float]]:
    out: list[tuple[str, list[tuple[float, float, list[str]]], float]] = []
    # Plucked chords, one every 0.6 s, every note of a chord struck together.
    voices = []
    for i in range(48):
        chord = _CHORDS[i % len(_CHORDS)]
        for f in chord:
            voices.append((0.6 * i, 1.2, ["pluck", f"{f:.1f}"]))
    out.append(("pluck-chords", voices, -2.0))
    # Arpeggios: notes of each chord one after the other, two octaves.
    voices = []
    t = 0.0
    for i in range(40):
        for f in _CHORDS[(3 * i) % len(_CHORDS)]:
            for octave in (1.0, 2.0):
                voices.append((t, 0.5, ["pluck", f"{f * octave:.1f}"]))
                t += 0.125
    out.append(("pluck-arpeggio", voices, -3.0))
    # Sine and square sweeps over the voice band, alone and against a held chord.
    out.append(("sine-sweep", [(0.0, 20.0, ["sine", "200-3400"]), (20.0, 20.0, ["sine", "3400-200"])], -3.0))
    out.append(("square-sweep", [(0.0, 15.0, ["square", "100-1800"])], -6.0))
    out.append(("sweep-over-chord", [(0.0, 15.0, ["sine", "600-1700"]), (0.0, 15.0, ["triangle", "220"]),
                                     (0.0, 15.0, ["triangle", "277.2"]), (0.0, 15.0, ["triangle", "329.6"])], -3.0))
    # Melodies on harmonic-rich waveforms, with a sustained bass.
    melody = [523.3, 587.3, 659.3, 698.5, 784.0, 880.0, 987.8, 1046.5, 987.8, 880.0, 784.0, 698.5]
    voices = []
    for i in range(96):
        voices.append((0.25 * i, 0.25, ["square", f"{melody[i % len(melody)]:.1f}"]))
        if i % 8 == 0:
            voices.append((0.25 * i, 2.0, ["triangle", f"{melody[(i // 8) % len(melody)] / 4:.1f}"]))
    out.append(("square-melody", voices, -4.0))
    voices = [(0.2 * i, 0.4, ["sawtooth", f"{melody[(5 * i) % len(melody)] / 2:.1f}"]) for i in range(120)]
    out.append(("sawtooth-melody", voices, -4.0))
    voices = []
    for i in range(30):
        for f in _CHORDS[(5 * i) % len(_CHORDS)]:
            voices.append((0.8 * i, 0.8, ["trapezium", f"{f:.1f}"]))
            voices.append((0.8 * i, 0.8, ["sine", f"{2 * f:.1f}"]))
    out.append(("organ-chords", voices, -3.0))
    return out


def dbm0_amplitude(level: float) -> float:
    """Peak amplitude (16-bit linear) of a sine at ``level`` dBm0."""
    return DBM0_PEAK * 10.0 ** (float(level) / 20.0)


def white_noise(n: int, level_dbm0: float, seed: int) -> np.ndarray:
    """``n`` samples of Gaussian white noise (flat 0-4 kHz) with total power ``level_dbm0``."""
    rng = np.random.default_rng(seed)
    rms = dbm0_amplitude(level_dbm0) / np.sqrt(2.0)
    x = rng.standard_normal(int(n)) * rms
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


def _tools() -> tuple[str, str]:
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    if not (espeak and sox):
        import pytest

        pytest.skip("talk-off corpus needs espeak-ng and sox (Debian packages espeak-ng, sox)")
    return espeak, sox


@functools.cache
def _versions() -> str:
    espeak, sox = _tools()
    out = []
    for cmd in ([espeak, "--version"], [sox, "--version"]):
        try:
            out.append(subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip())
        except (OSError, subprocess.SubprocessError):
            out.append("?")
    return "|".join(out)


def _key(recipe: object) -> str:
    blob = json.dumps([recipe, _versions(), RATE], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _cached(name: str, recipe: object, make) -> np.ndarray:
    """The array for ``recipe`` from the cache, made (and stored atomically) when absent."""
    path = CACHE / f"{name}-{_key(recipe)}.npy"
    if path.exists():
        try:
            return np.load(path)
        except (OSError, ValueError):
            pass  # a damaged entry is rebuilt
    x = np.ascontiguousarray(make(), dtype=np.int16)
    CACHE.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=CACHE, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, x)
        os.replace(tmp, path)   # concurrent test runs never see a half-written file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return x


def _read_wav(path: str) -> np.ndarray:
    with wave.open(path) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).copy()


def _speak(voice: str, pitch: int, speed: int, peak_db: float, text: str) -> np.ndarray:
    espeak, sox = _tools()
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = os.path.join(tmp, "raw.wav"), os.path.join(tmp, "out.wav")
        subprocess.run([espeak, "-v", voice, "-p", str(pitch), "-s", str(speed), "-w", raw, text],
                       check=True, capture_output=True, timeout=300)
        subprocess.run([sox, raw, "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer",
                        "-t", "wavpcm", out, "norm", str(peak_db)], check=True, capture_output=True, timeout=300)
        return _read_wav(out)


def _synth(seconds: float, args: list[str]) -> np.ndarray:
    _, sox = _tools()
    # pluck runs at 44.1-48 kHz only: synthesise at 48 kHz, let sox resample (band-limited).
    proc = subprocess.run([sox, "-r", "48000", "-c", "1", "-n", "-t", "raw", "-b", "32", "-e", "floating-point",
                           "-r", str(RATE), "-", "synth", f"{seconds:.4f}", *args],
                          check=True, capture_output=True, timeout=300)
    return np.frombuffer(proc.stdout, dtype=np.float32).astype(np.float64)


def _mix(voices: list[tuple[float, float, list[str]]], peak_db: float) -> np.ndarray:
    end = max(start + dur for start, dur, _ in voices)
    acc = np.zeros(int(round(end * RATE)) + 1)
    made: dict[tuple[float, tuple[str, ...]], np.ndarray] = {}
    for start, dur, args in voices:
        key = (dur, tuple(args))
        if key not in made:
            made[key] = _synth(dur, args)
        x = made[key]
        i = int(round(start * RATE))
        acc[i:i + x.size] += x[:acc.size - i]
    peak = float(np.max(np.abs(acc))) or 1.0
    return np.rint(acc * (32767.0 * 10.0 ** (peak_db / 20.0) / peak)).astype(np.int16)


@functools.lru_cache(maxsize=1)
def _speech() -> tuple[tuple[str, np.ndarray], ...]:
    out = []
    for lang, voice, pitch, speed, peak in _SPEECH_RECIPES:
        text = _TEXTS[lang]
        recipe = ["speech", voice, pitch, speed, peak, text]
        x = _cached(f"speech-{voice.replace('+', '_')}", recipe,
                    lambda: _speak(voice, pitch, speed, peak, text))
        out.append((f"{voice}-p{pitch}-s{speed}", x))
    return tuple(out)


@functools.lru_cache(maxsize=1)
def _music() -> tuple[tuple[str, np.ndarray], ...]:
    out = []
    for name, voices, peak in _music_recipes():
        recipe = ["music", name, voices, peak]
        out.append((name, _cached(f"music-{name}", recipe, lambda: _mix(voices, peak))))
    return tuple(out)


def talkoff_speech() -> list[tuple[str, np.ndarray]]:
    """espeak-ng speech in eight languages (Mandarin included), >= 10 minutes, int16 at 8 kHz."""
    return list(_speech())


def talkoff_music() -> list[tuple[str, np.ndarray]]:
    """sox-synthesised music (plucked chords, arpeggios, sweeps, melodies), int16 at 8 kHz."""
    return list(_music())


def speech_seconds() -> float:
    """Total length of the speech corpus in seconds."""
    return sum(x.size for _, x in _speech()) / RATE


if __name__ == "__main__":  # pragma: no cover - handy to inspect the corpus
    for kind, clips in (("speech", talkoff_speech()), ("music", talkoff_music())):
        for n, x in clips:
            print(f"{kind:6s} {n:24s} {x.size / RATE:7.1f} s")
    print(f"speech total {speech_seconds():.0f} s")
