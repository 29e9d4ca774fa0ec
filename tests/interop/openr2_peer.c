/*
 * openr2_peer: runs libopenr2 (an independent MFC/R2 implementation) on one channel whose
 * "DAHDI device" is this program, so a test can put our No.1 stack on the other end.
 *
 * libopenr2 1.3.x talks to DAHDI through ioctl/read/write on a channel fd and reads the
 * time with gettimeofday. We link its static library with --wrap for those four calls:
 * for our fake channel fd they serve CAS bits and 20 ms A-law blocks exchanged with the
 * test over two pipes, and the clock is virtual (20 ms per tick), so a run is lockstep
 * and deterministic. openr2's own MF detector and generator make and hear the tones.
 *
 * Tick protocol (binary, both directions once per 20 ms):
 *   test -> peer : 'T' cas cmd arglen args[arglen] audio[160]        ('Q' alone: quit)
 *   peer -> test : 'R' cas evlen_lo evlen_hi events[evlen] audio[160]
 * cas is the abcd nibble; events are text lines ("offered ANI DNIS CATEGORY", ...).
 * Commands: 'M' make call "ani,dnis", 'C' accept, 'N' answer, 'D' disconnect "cause",
 * 'B' set blocked, 'I' set idle, 0 nothing.
 *
 * Usage: openr2_peer IN_FD OUT_FD MAX_ANI MAX_DNIS VARIANT [LOGLEVEL]
 * Build: gcc -O1 -o openr2_peer openr2_peer.c -Wl,--wrap=ioctl,--wrap=read,--wrap=write,
 *        --wrap=gettimeofday -l:libopenr2.a -lm -lpthread
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <unistd.h>
#include <openr2.h>

#define BLOCK 160
#define SIG_CAS (1 << 15)        /* DAHDI_SIG_CAS */
#define EV_BITSCHANGED 13        /* DAHDI_EVENT_BITSCHANGED */
#define IOMUX_READ 1
#define IOMUX_WRITE 2
#define IOMUX_SIGEVENT 8

int __real_ioctl(int fd, unsigned long req, ...);
ssize_t __real_read(int fd, void *buf, size_t n);
ssize_t __real_write(int fd, const void *buf, size_t n);
int __real_gettimeofday(struct timeval *tv, void *tz);

static int fake_fd = -1;
static int rx_cas = -1, tx_cas = 0x9;   /* -1: the first frame is a bits-changed event */
static int cas_event = 0;
static unsigned char rx_buf[BLOCK], tx_buf[BLOCK];
static int rx_avail = 0, tx_done = 0;
static long long vtime_us = 1000000000LL;
static char events[8192];
static size_t evlen = 0;
static openr2_chan_t *chan;
static int verbose = 0;

static void event(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(events + evlen, sizeof(events) - evlen - 1, fmt, ap);
	va_end(ap);
	if (n > 0 && evlen + n < sizeof(events) - 2) {
		evlen += n;
		events[evlen++] = '\n';
	}
}

/* ---- the fake DAHDI channel ---- */
int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (fd != fake_fd)
		return __real_ioctl(fd, req, arg);
	unsigned type = _IOC_TYPE(req), nr = _IOC_NR(req), dir = _IOC_DIR(req), size = _IOC_SIZE(req);
	if (type != 0xDA && type != 'J')      /* DAHDI or Zaptel ioctl codes */
		return 0;
	int *ip = (int *)arg;
	switch (nr) {
	case 34: /* CHANNO */
		*ip = 1;
		break;
	case 5:  /* GET_PARAMS: channo, spanno, chanpos, sigtype, sigcap, rxisoffhook, rxbits, txbits */
		if (dir & _IOC_READ) {
			memset(arg, 0, size);
			ip[0] = 1; ip[1] = 1; ip[2] = 1; ip[3] = SIG_CAS; ip[4] = SIG_CAS;
			ip[6] = rx_cas < 0 ? 0 : rx_cas; ip[7] = tx_cas;
		}
		break;
	case 27: /* GET/SET_BUFINFO: txpolicy, rxpolicy, numbufs, bufsize, readbufs, writebufs */
		if (dir & _IOC_READ) {
			memset(arg, 0, size);
			ip[2] = 4; ip[3] = BLOCK;
		}
		break;
	case 43: /* GETRXBITS (read) / SETTXBITS (write) */
		if (dir & _IOC_READ)
			*ip = rx_cas;
		else
			tx_cas = *ip & 0xF;
		break;
	case 8:  /* GETEVENT */
		*ip = cas_event ? EV_BITSCHANGED : 0;
		cas_event = 0;
		break;
	case 9: { /* IOMUX */
		int want = *ip, got = 0;
		if ((want & IOMUX_SIGEVENT) && cas_event) got |= IOMUX_SIGEVENT;
		if ((want & IOMUX_READ) && rx_avail) got |= IOMUX_READ;
		if ((want & IOMUX_WRITE) && !tx_done) got |= IOMUX_WRITE;
		*ip = got;
		break;
	}
	case 16: /* GETGAINS / SETGAINS */
	default:
		break;
	}
	return 0;
}

ssize_t __wrap_read(int fd, void *buf, size_t n)
{
	if (fd != fake_fd)
		return __real_read(fd, buf, n);
	if (!rx_avail) {
		errno = EAGAIN;
		return -1;
	}
	size_t k = n < BLOCK ? n : BLOCK;
	memcpy(buf, rx_buf, k);
	rx_avail = 0;
	return (ssize_t)k;
}

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
	if (fd != fake_fd)
		return __real_write(fd, buf, n);
	size_t k = n < BLOCK ? n : BLOCK;
	memcpy(tx_buf, buf, k);
	tx_done = 1;
	return (ssize_t)n;
}

int __wrap_gettimeofday(struct timeval *tv, void *tz)
{
	(void)tz;
	tv->tv_sec = vtime_us / 1000000;
	tv->tv_usec = vtime_us % 1000000;
	return 0;
}

/* ---- openr2 callbacks: everything becomes an event line ---- */
static void on_call_init(openr2_chan_t *c) { (void)c; event("init"); }
static void on_call_offered(openr2_chan_t *c, const char *ani, const char *dnis, openr2_calling_party_category_t cat)
{
	(void)c;
	event("offered %s %s %s", (ani && *ani) ? ani : "-", (dnis && *dnis) ? dnis : "-",
	      openr2_proto_get_category_string(cat));
}
static void on_call_accepted(openr2_chan_t *c, openr2_call_mode_t mode) { (void)c; event("accepted %d", (int)mode); }
static void on_call_answered(openr2_chan_t *c) { (void)c; event("answered"); }
static void on_call_disconnect(openr2_chan_t *c, openr2_call_disconnect_cause_t cause)
{
	event("disconnect %d %s", (int)cause, openr2_proto_get_disconnect_string(cause));
	openr2_chan_disconnect_call(c, OR2_CAUSE_NORMAL_CLEARING);   /* complete the release, as r2test does */
}
static void on_call_end(openr2_chan_t *c) { (void)c; event("end"); }
static void on_call_read(openr2_chan_t *c, const unsigned char *buf, int len) { (void)c; (void)buf; (void)len; }
static void on_hardware_alarm(openr2_chan_t *c, int alarm) { (void)c; event("alarm %d", alarm); }
static void on_os_error(openr2_chan_t *c, int err) { (void)c; event("oserror %d", err); }
static void on_protocol_error(openr2_chan_t *c, openr2_protocol_error_t e)
{
	(void)c;
	event("protocol_error %d %s", (int)e, openr2_proto_get_error(e));
}
static void on_line_blocked(openr2_chan_t *c) { (void)c; event("blocked"); }
static void on_line_idle(openr2_chan_t *c) { (void)c; event("idle"); }
static int on_dnis_digit(openr2_chan_t *c, char d) { (void)c; event("dnis %c", d); return 1; }
static void on_ani_digit(openr2_chan_t *c, char d) { (void)c; event("ani %c", d); }
static void on_billing(openr2_chan_t *c) { (void)c; event("billing"); }
static void on_context_log(openr2_context_t *ctx, openr2_log_level_t level, const char *fmt, va_list ap)
{
	(void)ctx; (void)level;
	if (verbose) vfprintf(stderr, fmt, ap);
}
static void on_chan_log(openr2_chan_t *c, openr2_log_level_t level, const char *fmt, va_list ap)
{
	(void)c; (void)level;
	if (verbose) {
		fprintf(stderr, "[%lld.%03lld] ", vtime_us / 1000000 % 1000, vtime_us / 1000 % 1000);
		vfprintf(stderr, fmt, ap);
	}
}

static openr2_event_interface_t callbacks = {
	.on_call_init = on_call_init,
	.on_call_offered = on_call_offered,
	.on_call_accepted = on_call_accepted,
	.on_call_answered = on_call_answered,
	.on_call_disconnect = on_call_disconnect,
	.on_call_end = on_call_end,
	.on_call_read = on_call_read,
	.on_hardware_alarm = on_hardware_alarm,
	.on_os_error = on_os_error,
	.on_protocol_error = on_protocol_error,
	.on_line_blocked = on_line_blocked,
	.on_line_idle = on_line_idle,
	.on_context_log = on_context_log,
	.on_dnis_digit_received = on_dnis_digit,
	.on_ani_digit_received = on_ani_digit,
	.on_billing_pulse_received = on_billing,
};

static int read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = __real_read(fd, (char *)buf + got, n - got);
		if (r <= 0) {
			if (r < 0 && errno == EINTR) continue;
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
	size_t put = 0;
	while (put < n) {
		ssize_t r = __real_write(fd, (const char *)buf + put, n - put);
		if (r <= 0) {
			if (r < 0 && errno == EINTR) continue;
			return -1;
		}
		put += (size_t)r;
	}
	return 0;
}

static void command(int cmd, char *args)
{
	switch (cmd) {
	case 'M': {
		char *comma = strchr(args, ',');
		const char *ani = args, *dnis = "";
		if (comma) { *comma = 0; dnis = comma + 1; }
		if (openr2_chan_make_call(chan, *ani ? ani : NULL, dnis, OR2_CALLING_PARTY_CATEGORY_NATIONAL_SUBSCRIBER))
			event("error make_call");
		break;
	}
	case 'C': openr2_chan_accept_call(chan, atoi(args) ? OR2_CALL_NO_CHARGE : OR2_CALL_WITH_CHARGE); break;
	case 'N': openr2_chan_answer_call(chan); break;
	case 'D': openr2_chan_disconnect_call(chan, (openr2_call_disconnect_cause_t)atoi(args)); break;
	case 'B': openr2_chan_set_blocked(chan); break;
	case 'I': openr2_chan_set_idle(chan); break;
	default: break;
	}
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: %s IN_FD OUT_FD MAX_ANI MAX_DNIS VARIANT [LOGLEVEL]\n", argv[0]);
		return 2;
	}
	int in_fd = atoi(argv[1]), out_fd = atoi(argv[2]);
	int max_ani = atoi(argv[3]), max_dnis = atoi(argv[4]);
	openr2_variant_t variant = openr2_proto_get_variant(argv[5]);
	verbose = argc > 6 && strcmp(argv[6], "0") != 0;
	if (variant == OR2_VAR_UNKNOWN) {
		fprintf(stderr, "unknown variant %s\n", argv[5]);
		return 2;
	}
	openr2_context_t *ctx = openr2_context_new(NULL, &callbacks, NULL, variant, max_ani, max_dnis);
	if (!ctx) {
		fprintf(stderr, "openr2_context_new failed\n");
		return 3;
	}
	openr2_context_set_log_level(ctx, verbose ? OR2_LOG_ALL : OR2_LOG_NOTHING);
	fake_fd = open("/dev/null", O_RDWR);
	chan = openr2_chan_new_from_fd(ctx, fake_fd, NULL, NULL);
	if (!chan) {
		fprintf(stderr, "openr2_chan_new_from_fd failed: %s\n",
		        openr2_context_error_string(openr2_context_get_last_error(ctx)));
		return 4;
	}
	openr2_chan_set_logging_func(chan, on_chan_log);
	openr2_chan_set_log_level(chan, verbose ? OR2_LOG_ALL : OR2_LOG_NOTHING);
	openr2_chan_enable_read(chan);
	openr2_chan_set_idle(chan);
	openr2_chan_process_event(chan);

	for (;;) {
		unsigned char hdr[4];
		char args[256];
		if (read_full(in_fd, hdr, 1)) break;
		if (hdr[0] == 'Q') break;
		if (hdr[0] != 'T' || read_full(in_fd, hdr + 1, 3)) {
			fprintf(stderr, "openr2_peer: bad frame\n");
			return 5;
		}
		if (read_full(in_fd, args, hdr[3]) || read_full(in_fd, rx_buf, BLOCK)) break;
		args[hdr[3]] = 0;
		int cas = hdr[1] & 0xF;
		if (cas != rx_cas) {
			rx_cas = cas;
			cas_event = 1;
		}
		rx_avail = 1;
		tx_done = 0;
		memset(tx_buf, 0xD5, BLOCK);
		evlen = 0;
		vtime_us += 20000;
		if (hdr[2]) command(hdr[2], args);
		openr2_chan_process_event(chan);
		unsigned char out[4] = {'R', (unsigned char)tx_cas, (unsigned char)(evlen & 0xFF), (unsigned char)(evlen >> 8)};
		if (write_full(out_fd, out, 4) || write_full(out_fd, events, evlen) || write_full(out_fd, tx_buf, BLOCK))
			break;
	}
	openr2_context_delete(ctx);   /* deletes its channels too */
	return 0;
}
