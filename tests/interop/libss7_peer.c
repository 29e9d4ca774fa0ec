/*
 * libss7_peer: libss7 as one signalling point, driven line by line for the interop tests
 * (tests/interop/test_interop_libss7.py) and timed back to back for bench/bench_ss7.py.
 *
 *   libss7_peer peer FD OPC DPC [ansi]  the link is FD (SOCK_SEQPACKET, one SU + 2 FCS octets per
 *                                   datagram, libss7's DAHDI MTP2 framing); commands on stdin:
 *                                   iam CIC CALLED CALLING | acm CIC | anm CIC | con CIC |
 *                                   rel CIC CAUSE | grs CIC ENDCIC | blo CIC | ubl CIC | quit
 *                                   events on stdout: UP, DOWN, IAM cic called calling, ACM cic,
 *                                   ANM cic, CON cic, REL cic cause, RLC cic, GRS cic end,
 *                                   GRA cic end, BLO/BLA/UBL/UBA/RSC cic, CGB/CGU cic end, CPG cic
 *                                   (REL -> RLC, GRS -> GRA, BLO -> BLA, UBL -> UBA, RSC -> RLC,
 *                                   CGB -> CGBA, CGU -> CGUA are answered automatically)
 *   libss7_peer bench N             two libss7 instances back to back over a socketpair:
 *                                   N IAM/ACM/ANM/REL/RLC cycles; prints "calls N seconds S cpu C"
 *                                   (C: user + system CPU seconds of the same span)
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>
#include <libss7.h>

#define MAXCIC 4096
static struct isup_call *calls[2][MAXCIC];
static unsigned int g_dpc[2];

static void quiet(struct ss7 *ss7, char *s) { (void)ss7; (void)s; }
static void errmsg(struct ss7 *ss7, char *s) { (void)ss7; fprintf(stderr, "libss7: %s", s); }
static int hangup_cb(struct ss7 *ss7, int cic, unsigned int dpc, int cause, int do_hangup)
{
	(void)ss7; (void)cic; (void)dpc; (void)cause; (void)do_hangup;
	return SS7_CIC_IDLE;
}
static void notinservice(struct ss7 *ss7, int cic, unsigned int dpc) { (void)ss7; (void)cic; (void)dpc; }
static void call_null(struct ss7 *ss7, struct isup_call *c, int lock)
{
	int i, k;
	(void)ss7; (void)lock;
	for (k = 0; k < 2; k++)
		for (i = 0; i < MAXCIC; i++)
			if (calls[k][i] == c)
				calls[k][i] = NULL;
}

static int g_switchtype = SS7_ITU;

static struct ss7 *make(int fd, unsigned int opc, unsigned int dpc)
{
	struct ss7 *ss7 = ss7_new(g_switchtype);
	if (!ss7) {
		perror("ss7_new");
		exit(1);
	}
	ss7_set_network_ind(ss7, SS7_NI_NAT);
	ss7_set_pc(ss7, opc);
	if (ss7_add_link(ss7, SS7_TRANSPORT_DAHDIMTP2, fd, 0, dpc)) {
		perror("ss7_add_link");
		exit(1);
	}
	return ss7;
}

static int timeout_ms(struct ss7 *ss7, int cap)
{
	struct timeval *next = ss7_schedule_next(ss7), now;
	long ms;
	if (!next)
		return cap;
	gettimeofday(&now, NULL);
	ms = (next->tv_sec - now.tv_sec) * 1000 + (next->tv_usec - now.tv_usec) / 1000;
	if (ms < 0)
		ms = 0;
	return ms < cap ? (int)ms : cap;
}

static void service_fd(struct ss7 *ss7, int fd, short revents)
{
	if (revents & POLLIN)
		ss7_read(ss7, fd);
	if (revents & POLLOUT)
		ss7_write(ss7, fd);
}

/* ---- peer mode ---------------------------------------------------------------------- */
static void on_event(struct ss7 *ss7, ss7_event *e)
{
	unsigned char st[255];
	memset(st, 0, sizeof(st));
	switch (e->e) {
	case SS7_EVENT_UP: printf("UP\n"); break;
	case SS7_EVENT_DOWN: printf("DOWN\n"); break;
	case MTP2_LINK_UP: printf("LINKUP\n"); break;
	case MTP2_LINK_DOWN: printf("LINKDOWN\n"); break;
	case ISUP_EVENT_IAM:
		calls[0][e->iam.cic] = e->iam.call;
		printf("IAM %d %s %s %d\n", e->iam.cic, e->iam.called_party_num,
		       e->iam.calling_party_num[0] ? e->iam.calling_party_num : "-", e->iam.calling_party_cat);
		break;
	case ISUP_EVENT_ACM: printf("ACM %d\n", e->acm.cic); break;
	case ISUP_EVENT_ANM: printf("ANM %d\n", e->anm.cic); break;
	case ISUP_EVENT_CON: printf("CON %d\n", e->con.cic); break;
	case ISUP_EVENT_CPG: printf("CPG %d %d\n", e->cpg.cic, e->cpg.event); break;
	case ISUP_EVENT_REL:
		printf("REL %d %d\n", e->rel.cic, e->rel.cause);
		isup_rlc(ss7, e->rel.call);
		calls[0][e->rel.cic] = NULL;
		break;
	case ISUP_EVENT_RLC:
		printf("RLC %d\n", e->rlc.cic);
		if (e->rlc.call)
			isup_free_call(ss7, e->rlc.call);
		calls[0][e->rlc.cic] = NULL;
		break;
	case ISUP_EVENT_GRS:
		printf("GRS %d %d\n", e->grs.startcic, e->grs.endcic);
		isup_gra(ss7, e->grs.call, e->grs.endcic, st);
		break;
	case ISUP_EVENT_GRA: printf("GRA %d %d\n", e->gra.startcic, e->gra.endcic); break;
	case ISUP_EVENT_BLO: printf("BLO %d\n", e->blo.cic); isup_bla(ss7, e->blo.call); break;
	case ISUP_EVENT_UBL: printf("UBL %d\n", e->ubl.cic); isup_uba(ss7, e->ubl.call); break;
	case ISUP_EVENT_BLA: printf("BLA %d\n", e->bla.cic); break;
	case ISUP_EVENT_UBA: printf("UBA %d\n", e->uba.cic); break;
	case ISUP_EVENT_RSC: printf("RSC %d\n", e->rsc.cic); isup_rlc(ss7, e->rsc.call); break;
	case ISUP_EVENT_CGB:
		printf("CGB %d %d\n", e->cgb.startcic, e->cgb.endcic);
		isup_cgba(ss7, e->cgb.call, e->cgb.endcic, e->cgb.status);
		break;
	case ISUP_EVENT_CGU:
		printf("CGU %d %d\n", e->cgu.startcic, e->cgu.endcic);
		isup_cgua(ss7, e->cgu.call, e->cgu.endcic, e->cgu.status);
		break;
	case ISUP_EVENT_CGBA: printf("CGBA %d %d\n", e->cgba.startcic, e->cgba.endcic); break;
	case ISUP_EVENT_CGUA: printf("CGUA %d %d\n", e->cgua.startcic, e->cgua.endcic); break;
	case ISUP_EVENT_UCIC: printf("UCIC %d\n", e->ucic.cic); break;
	default: printf("EV %d\n", e->e); break;
	}
	fflush(stdout);
}

static struct isup_call *call_for(struct ss7 *ss7, int cic, int outgoing)
{
	if (cic < 0 || cic >= MAXCIC)
		return NULL;
	if (!calls[0][cic])
		calls[0][cic] = isup_new_call(ss7, cic, g_dpc[0], outgoing);
	return calls[0][cic];
}

static int command(struct ss7 *ss7, char *line)
{
	char op[16], a[64], b[64];
	int cic = -1, x = 0, n;
	struct isup_call *c;
	a[0] = b[0] = 0;
	n = sscanf(line, "%15s %d %63s %63s", op, &cic, a, b);
	if (n < 1)
		return 0;
	if (!strcmp(op, "quit"))
		return 1;
	if (cic < 0 || cic >= MAXCIC) {
		printf("ERR %s\n", line);
		fflush(stdout);
		return 0;
	}
	if (!strcmp(op, "iam")) {
		c = call_for(ss7, cic, 1);
		isup_set_called(c, a, SS7_NAI_NATIONAL, ss7);
		if (strcmp(b, "-"))
			isup_set_calling(c, b, SS7_NAI_NATIONAL, SS7_PRESENTATION_ALLOWED, SS7_SCREENING_NETWORK_PROVIDED);
		isup_set_calling_party_category(c, 10);
		isup_iam(ss7, c);
	} else if (!strcmp(op, "acm")) {
		isup_acm(ss7, call_for(ss7, cic, 0));
	} else if (!strcmp(op, "anm")) {
		isup_anm(ss7, call_for(ss7, cic, 0));
	} else if (!strcmp(op, "con")) {
		isup_con(ss7, call_for(ss7, cic, 0));
	} else if (!strcmp(op, "rel")) {
		x = atoi(a);
		isup_rel(ss7, call_for(ss7, cic, 0), x ? x : 16);
	} else if (!strcmp(op, "grs")) {
		c = isup_new_call(ss7, cic, g_dpc[0], 0);
		isup_grs(ss7, c, atoi(a));
	} else if (!strcmp(op, "blo")) {
		isup_blo(ss7, call_for(ss7, cic, 0));
	} else if (!strcmp(op, "ubl")) {
		isup_ubl(ss7, call_for(ss7, cic, 0));
	} else {
		printf("ERR %s\n", line);
		fflush(stdout);
	}
	return 0;
}

static int peer(int fd, unsigned int opc, unsigned int dpc)
{
	struct ss7 *ss7 = make(fd, opc, dpc);
	struct pollfd p[2];
	char buf[4096];
	size_t used = 0;
	ss7_event *e;

	g_dpc[0] = dpc;
	ss7_start(ss7);
	for (;;) {
		p[0].fd = fd;
		p[0].events = ss7_pollflags(ss7, fd);
		p[1].fd = 0;
		p[1].events = POLLIN;
		if (poll(p, 2, timeout_ms(ss7, 50)) < 0 && errno != EINTR)
			return 1;
		ss7_schedule_run(ss7);
		if (p[0].revents & (POLLHUP | POLLERR))
			return 0;
		service_fd(ss7, fd, p[0].revents);
		while ((e = ss7_check_event(ss7)))
			on_event(ss7, e);
		if (p[1].revents & (POLLIN | POLLHUP)) {
			ssize_t r = read(0, buf + used, sizeof(buf) - 1 - used);
			char *nl;
			if (r <= 0)
				return 0;
			used += (size_t)r;
			buf[used] = 0;
			while ((nl = strchr(buf, '\n'))) {
				*nl = 0;
				if (command(ss7, buf))
					return 0;
				memmove(buf, nl + 1, used - (size_t)(nl + 1 - buf) + 1);
				used -= (size_t)(nl + 1 - buf);
			}
			while ((e = ss7_check_event(ss7)))
				on_event(ss7, e);
		}
	}
}

/* ---- bench mode: two libss7 instances back to back ------------------------------------ */
static int bench(int n)
{
	int fds[2], k, up = 0, done = 0, inflight = 0, cic = 1;
	struct ss7 *s[2];
	struct pollfd p[2];
	struct timeval t0, t1;
	struct rusage r0, r1;
	ss7_event *e;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds))
		return 1;
	s[0] = make(fds[0], 1, 2);
	s[1] = make(fds[1], 2, 1);
	g_dpc[0] = 2;
	g_dpc[1] = 1;
	ss7_start(s[0]);
	ss7_start(s[1]);
	gettimeofday(&t0, NULL);
	getrusage(RUSAGE_SELF, &r0);
	while (done < n) {
		for (k = 0; k < 2; k++) {
			p[k].fd = fds[k];
			p[k].events = ss7_pollflags(s[k], fds[k]);
		}
		poll(p, 2, timeout_ms(s[0], timeout_ms(s[1], 20)));
		for (k = 0; k < 2; k++) {
			ss7_schedule_run(s[k]);
			service_fd(s[k], fds[k], p[k].revents);
			while ((e = ss7_check_event(s[k]))) {
				switch (e->e) {
				case SS7_EVENT_UP:
					if (k == 0 && !up) {
						up = 1;
						gettimeofday(&t0, NULL);
						getrusage(RUSAGE_SELF, &r0);
					}
					break;
				case ISUP_EVENT_IAM:
					calls[1][e->iam.cic] = e->iam.call;
					isup_acm(s[1], e->iam.call);
					isup_anm(s[1], e->iam.call);
					break;
				case ISUP_EVENT_ANM:
					isup_rel(s[0], calls[0][e->anm.cic], 16);
					break;
				case ISUP_EVENT_REL:
					isup_rlc(s[k], e->rel.call);
					break;
				case ISUP_EVENT_RLC:
					if (e->rlc.call)
						isup_free_call(s[k], e->rlc.call);
					calls[0][e->rlc.cic] = NULL;
					done++;
					inflight--;
					break;
				case ISUP_EVENT_GRS:
					break;
				default:
					break;
				}
			}
		}
		while (up && inflight < 8 && done + inflight < n) {
			struct isup_call *c = isup_new_call(s[0], cic, 2, 1);
			calls[0][cic] = c;
			isup_set_called(c, "5551234", SS7_NAI_NATIONAL, s[0]);
			isup_set_calling(c, "88001", SS7_NAI_NATIONAL, 0, 3);
			isup_set_calling_party_category(c, 10);
			isup_iam(s[0], c);
			inflight++;
			cic = cic % 30 + 1;
			while (calls[0][cic] && cic != 1)
				cic = cic % 30 + 1;
		}
	}
	gettimeofday(&t1, NULL);
	getrusage(RUSAGE_SELF, &r1);
	printf("calls %d seconds %.6f cpu %.6f\n", n, (t1.tv_sec - t0.tv_sec) + (t1.tv_usec - t0.tv_usec) / 1e6,
	       (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) + (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) / 1e6 +
	       (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) + (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6);
	return 0;
}

int main(int argc, char **argv)
{
	ss7_set_message(quiet);
	ss7_set_error(getenv("LIBSS7_PEER_DEBUG") ? errmsg : quiet);
	ss7_set_hangup(hangup_cb);
	ss7_set_notinservice(notinservice);
	ss7_set_call_null(call_null);
	if (argc == 6 && !strcmp(argv[5], "ansi"))   /* 24-bit point codes, 7-octet label */
		g_switchtype = SS7_ANSI;
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "peer"))
		return peer(atoi(argv[2]), (unsigned)strtoul(argv[3], NULL, 0), (unsigned)strtoul(argv[4], NULL, 0));
	if (argc == 3 && !strcmp(argv[1], "bench"))
		return bench(atoi(argv[2]));
	fprintf(stderr, "usage: %s peer FD OPC DPC | bench N\n", argv[0]);
	return 2;
}
