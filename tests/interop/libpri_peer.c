/*
 * libpri_peer: libpri as the far end of a PRI D channel, driven line by line for the interop
 * tests (tests/interop/test_interop_libpri.py), and timed back to back for bench/bench_pri.py.
 *
 *   libpri_peer peer FD net|cpe [overlap]
 *        the D channel is FD (SOCK_SEQPACKET, one LAPD frame + 2 FCS octets per datagram, as
 *        libpri reads a DAHDI D channel; EuroISDN E1). Commands on stdin:
 *          call CH CALLED CALLING PRES [overlap] | info CH DIGITS | more CH | proceeding CH |
 *          alert CH | progress CH | answer CH | hangup CH CAUSE | restart CH (0: interface) | quit
 *        events on stdout: UP, DOWN, RING ch called calling pres complete, INFO ch digits,
 *          SETUP_ACK ch, PROCEEDING ch, PROGRESS ch, RINGING ch, ANSWER ch, CONNECT_ACK ch,
 *          HANGUP_REQ ch cause, HANGUP ch cause, HANGUP_ACK ch, RESTART ch, RESTART_ACK ch
 *        (HANGUP_REQ and HANGUP are answered with pri_hangup automatically)
 *   libpri_peer bench N   two libpri instances (network, CPE) back to back over a socketpair:
 *        N SETUP/ALERTING/CONNECT/DISCONNECT/RELEASE cycles, one at a time;
 *        prints "calls N seconds S cpu C" (C: user + system CPU seconds of the same span)
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <libpri.h>

#define MAXCH 32
static q931_call *calls[MAXCH];

static void quiet(struct pri *pri, char *s) { (void)pri; (void)s; }

static int timeout_ms(struct pri *pri, int cap)
{
	struct timeval *next = pri_schedule_next(pri), now;
	long ms;
	if (!next)
		return cap;
	gettimeofday(&now, NULL);
	ms = (next->tv_sec - now.tv_sec) * 1000 + (next->tv_usec - now.tv_usec) / 1000;
	if (ms < 0)
		ms = 0;
	return ms < cap ? (int)ms : cap;
}

static int chan(int c) { return c & 0xff; }

static void on_event(struct pri *pri, pri_event *e)
{
	int ch;
	switch (e->e) {
	case PRI_EVENT_DCHAN_UP: printf("UP\n"); break;
	case PRI_EVENT_DCHAN_DOWN: printf("DOWN\n"); break;
	case PRI_EVENT_RING:
		ch = chan(e->ring.channel);
		if (ch < MAXCH)
			calls[ch] = e->ring.call;
		printf("RING %d %s %s %d %d\n", ch, e->ring.callednum[0] ? e->ring.callednum : "-",
		       e->ring.callingnum[0] ? e->ring.callingnum : "-", e->ring.callingpres, e->ring.complete);
		break;
	case PRI_EVENT_INFO_RECEIVED:
		printf("INFO %d %s\n", chan(e->ring.channel), e->ring.callednum);
		break;
	case PRI_EVENT_SETUP_ACK: printf("SETUP_ACK %d\n", chan(e->setup_ack.channel)); break;
	case PRI_EVENT_PROCEEDING: printf("PROCEEDING %d\n", chan(e->proceeding.channel)); break;
	case PRI_EVENT_PROGRESS: printf("PROGRESS %d %d\n", chan(e->proceeding.channel), e->proceeding.progress); break;
	case PRI_EVENT_RINGING: printf("RINGING %d %d\n", chan(e->ringing.channel), e->ringing.progress); break;
	case PRI_EVENT_ANSWER: printf("ANSWER %d\n", chan(e->answer.channel)); break;
	case PRI_EVENT_CONNECT_ACK: printf("CONNECT_ACK %d\n", chan(e->connect_ack.channel)); break;
	case PRI_EVENT_HANGUP_REQ:
		printf("HANGUP_REQ %d %d\n", chan(e->hangup.channel), e->hangup.cause);
		pri_hangup(pri, e->hangup.call, e->hangup.cause);
		break;
	case PRI_EVENT_HANGUP:
		ch = chan(e->hangup.channel);
		printf("HANGUP %d %d\n", ch, e->hangup.cause);
		pri_hangup(pri, e->hangup.call, e->hangup.cause);
		if (ch < MAXCH && calls[ch] == e->hangup.call)
			calls[ch] = NULL;
		break;
	case PRI_EVENT_HANGUP_ACK:
		ch = chan(e->hangup.channel);
		printf("HANGUP_ACK %d\n", ch);
		if (ch < MAXCH && calls[ch] == e->hangup.call)
			calls[ch] = NULL;
		break;
	case PRI_EVENT_RESTART: printf("RESTART %d\n", e->restart.channel < 0 ? 0 : chan(e->restart.channel)); break;
	case PRI_EVENT_RESTART_ACK: printf("RESTART_ACK %d\n", e->restartack.channel < 0 ? 0 : chan(e->restartack.channel)); break;
	default: break;
	}
	fflush(stdout);
}

static void command(struct pri *pri, char *line)
{
	char what[32], a[64] = "", b[64] = "", d[64] = "";
	int ch = 0, c = 0, n;
	n = sscanf(line, "%31s %d %63s %63s %d %63s", what, &ch, a, b, &c, d);
	if (n < 1)
		return;
	if (!strcmp(what, "quit"))
		exit(0);
	if (!strcmp(what, "restart")) {
		pri_reset(pri, ch);
		return;
	}
	if (!strcmp(what, "call")) {
		struct pri_sr *sr = pri_sr_new();
		int overlap = !strcmp(d, "overlap");
		calls[ch] = pri_new_call(pri);
		pri_sr_set_channel(sr, ch, 1, 0);
		pri_sr_set_bearer(sr, PRI_TRANS_CAP_SPEECH, PRI_LAYER_1_ALAW);
		pri_sr_set_called(sr, a, PRI_UNKNOWN, !overlap);
		pri_sr_set_caller(sr, strcmp(b, "-") ? b : NULL, NULL, PRI_UNKNOWN, c);
		pri_setup(pri, calls[ch], sr);
		pri_sr_free(sr);
		return;
	}
	if (ch <= 0 || ch >= MAXCH || !calls[ch]) {
		printf("ERROR no call on %d\n", ch);
		fflush(stdout);
		return;
	}
	if (!strcmp(what, "info")) {
		for (char *p = a; *p; p++)
			pri_information(pri, calls[ch], *p);
	} else if (!strcmp(what, "more"))
		pri_need_more_info(pri, calls[ch], ch, 0);
	else if (!strcmp(what, "proceeding"))
		pri_proceeding(pri, calls[ch], ch, 0);
	else if (!strcmp(what, "alert"))
		pri_acknowledge(pri, calls[ch], ch, 1);
	else if (!strcmp(what, "progress"))
		pri_progress(pri, calls[ch], ch, 1);
	else if (!strcmp(what, "answer"))
		pri_answer(pri, calls[ch], ch, 0);
	else if (!strcmp(what, "hangup"))
		pri_hangup(pri, calls[ch], atoi(a));
}

static int peer(int fd, int node, int overlap)
{
	struct pri *pri = pri_new(fd, node, PRI_SWITCH_EUROISDN_E1);
	char buf[512];
	size_t used = 0;
	if (!pri) {
		perror("pri_new");
		return 1;
	}
	pri_set_overlapdial(pri, overlap);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		struct pollfd p[2] = {{fd, POLLIN, 0}, {0, POLLIN, 0}};
		int r = poll(p, 2, timeout_ms(pri, 1000));
		pri_event *e;
		if (r < 0 && errno != EINTR)
			return 1;
		if (p[0].revents & (POLLHUP | POLLERR))
			return 0;
		if (p[0].revents & POLLIN) {
			if ((e = pri_check_event(pri)))
				on_event(pri, e);
		}
		if ((e = pri_schedule_run(pri)))
			on_event(pri, e);
		if (p[1].revents & (POLLIN | POLLHUP)) {
			ssize_t k = read(0, buf + used, sizeof(buf) - 1 - used);
			char *nl;
			if (k <= 0)
				return 0;
			used += (size_t)k;
			buf[used] = 0;
			while ((nl = strchr(buf, '\n'))) {
				*nl = 0;
				command(pri, buf);
				memmove(buf, nl + 1, used - (size_t)(nl + 1 - buf) + 1);
				used -= (size_t)(nl + 1 - buf);
			}
		}
	}
}

/* ---- bench mode: network and CPE back to back -------------------------------------- */
static double cpu_now(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double wall_now(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return tv.tv_sec + tv.tv_usec / 1e6;
}

static int bench(int n)
{
	int sv[2], done = 0, up = 0, state = 0;
	struct pri *pri[2];
	q931_call *c = NULL;
	double t0 = 0, c0 = 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
		return 1;
	pri[0] = pri_new(sv[0], PRI_NETWORK, PRI_SWITCH_EUROISDN_E1);
	pri[1] = pri_new(sv[1], PRI_CPE, PRI_SWITCH_EUROISDN_E1);
	while (done < n) {
		struct pollfd p[2] = {{sv[0], POLLIN, 0}, {sv[1], POLLIN, 0}};
		int i, tmo = timeout_ms(pri[0], 100);
		if (timeout_ms(pri[1], 100) < tmo)
			tmo = timeout_ms(pri[1], 100);
		if (up == 2 && state == 0) {
			struct pri_sr *sr = pri_sr_new();
			c = pri_new_call(pri[1]);
			pri_sr_set_channel(sr, 1 + done % 15, 1, 0);
			pri_sr_set_bearer(sr, PRI_TRANS_CAP_SPEECH, PRI_LAYER_1_ALAW);
			pri_sr_set_called(sr, "88001234", PRI_UNKNOWN, 1);
			pri_sr_set_caller(sr, "13800138000", NULL, PRI_UNKNOWN, PRES_ALLOWED_USER_NUMBER_NOT_SCREENED);
			pri_setup(pri[1], c, sr);
			pri_sr_free(sr);
			state = 1;
		}
		poll(p, 2, tmo);
		for (i = 0; i < 2; i++) {
			pri_event *e = NULL;
			if (p[i].revents & POLLIN)
				e = pri_check_event(pri[i]);
			if (!e)
				e = pri_schedule_run(pri[i]);
			if (!e)
				continue;
			switch (e->e) {
			case PRI_EVENT_DCHAN_UP:
				if (++up == 2) {
					t0 = wall_now();
					c0 = cpu_now();
				}
				break;
			case PRI_EVENT_RING:            /* network: alert and answer at once */
				pri_acknowledge(pri[i], e->ring.call, e->ring.channel, 1);
				pri_answer(pri[i], e->ring.call, e->ring.channel, 0);
				break;
			case PRI_EVENT_ANSWER:          /* CPE: answered, hang up */
				pri_hangup(pri[i], c, 16);
				break;
			case PRI_EVENT_HANGUP_REQ:
			case PRI_EVENT_HANGUP:
				pri_hangup(pri[i], e->hangup.call, e->hangup.cause);
				break;
			case PRI_EVENT_HANGUP_ACK:      /* network: RELEASE COMPLETE in, the cycle is over */
				if (i == 0) {
					done++;
					state = 0;
				}
				break;
			default:
				break;
			}
		}
	}
	printf("calls %d seconds %.6f cpu %.6f\n", n, wall_now() - t0, cpu_now() - c0);
	return 0;
}

int main(int argc, char **argv)
{
	pri_set_message(quiet);
	pri_set_error(quiet);
	if (argc >= 4 && !strcmp(argv[1], "peer"))
		return peer(atoi(argv[2]), strcmp(argv[3], "net") ? PRI_CPE : PRI_NETWORK,
			    argc > 4 && !strcmp(argv[4], "overlap"));
	if (argc >= 3 && !strcmp(argv[1], "bench"))
		return bench(atoi(argv[2]));
	fprintf(stderr, "usage: libpri_peer peer FD net|cpe [overlap] | bench N\n");
	return 2;
}
