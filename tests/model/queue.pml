/*
 * SPDX-License-Identifier: MIT
 *
 * A model of one mailbox queue (docs/mailbox-layout.md): an honest sender,
 * an honest receiver and a scribbler that may write any word of the queue
 * a few times. tests/model/README.md maps every process, variable and step
 * to the code and says what is abstracted; run.sh checks it with spin.
 *
 * Variants (spin -D...), run by the test:
 *   (none)          every property must hold
 *   NO_SEQ          the receiver skips no replayed sequence number: spin
 *                   must find a duplicate
 *   NO_CHECKSUM     the receiver does not check the records' checksums:
 *                   spin must find a corrupted delivery
 *   NO_HEAD_HEAL    the sender does not put back a scribbled head (as
 *                   src/ipm/mbox_send.c at layout version 2); not run by
 *                   the test: it takes 2 scribbled words to show
 *   CHECK_WITHDRAW, CHECK_RECOVERY  properties that do NOT hold yet
 *                   (README.md, "Open findings")
 */

#ifndef M
#define M 3		/* messages the sender sends */
#endif
#ifndef CAP
#define CAP 2		/* records the ring holds */
#endif
#ifndef SCRIBBLES
#define SCRIBBLES 2	/* words the scribbler writes, at most */
#endif
#ifndef WAITK
#define WAITK 2		/* the message sent with wait=1 */
#endif
#define START 2		/* the queue's head when the pair attached */
#define LO (START - 1)		/* scribbled indexes and stamps: LO .. HI */
#define HI (START + M + 1)

#define CUR 1		/* the honest pair's tokens (src, dst) */
#define OLD 2		/* the tokens of a slot's earlier owner */
#define ACKRID 9	/* the rid of an ack the receiver wrote */
#define OLDRID 10	/* rids of records an earlier owner left: 10, 11 */

/* A record's stamp state (the word both sides compare-and-swap). */
#define S_NONE 0
#define S_PUB 1
#define S_CLAIMED 2
#define S_WITHDRAWN 3

/*
 * A word under the checksum: its value and the write that produced it
 * (rid: the message number for the sender's, 0 for a scribbled word).
 * A record's checksum is good iff all its checked words carry one rid
 * other than 0: written whole by the sender (or by an earlier owner), or
 * copied whole from such a record.
 */
typedef cword {
	byte v;
	byte rid
};

/* The stamp word is not under the checksum: both ends compare-and-swap it. */
typedef stampw {
	byte end;	/* the queue index just past the record */
	byte st		/* S_* */
};

/* The header's checked words: sequence number, tokens, length, type. */
typedef hword {
	byte seq;	/* per-queue sequence number, bound to the tokens */
	byte tok;	/* src/dst tokens (one value: both ends' current pair) */
	byte rid
};

typedef rec {
	stampw stamp;
	hword hdr;
	cword pay	/* the payload: the message number it carries */
};

rec ring[CAP];
byte head = START;	/* sender's control word */
byte tail = START;	/* receiver's control word */
cword ack;		/* receiver: the last sequence number delivered */

/* Ghosts: what really happened, for the assertions only. */
byte sending;		/* ipm_send was called for messages 1 .. sending */
byte published;		/* the sender published messages 1 .. published */
bool delivered[M + 1];
bool withdrawn[M + 1];	/* ipm_send returned -ETIMEDOUT: withdrawn */
bool completed[M + 1];	/* ipm_send(wait=1) returned 0 */
bool unsure[M + 1];	/* gave up waiting for a claimed one's ack */
byte last;		/* the last message delivered */
byte lost;		/* counted by the receiver (sequence gaps) */
bool stamp_scribbled;	/* the scribbler wrote a stamp word */
bool sender_done, scrib_done;
byte clean_from = M + 1;	/* first message sent after the scribbler */
byte dropped_to;		/* messages a drop may have lost */
byte read_k;		/* the message whose room check read the tail last */
bool drop_pending;	/* a drop whose tail is not stored yet */

#define NEW(e, t) ((e) > (t) && (e) - (t) <= CAP)
/* A record is there: a new stamp whose state says it was published. */
#define READY(e, st, t) (NEW(e, t) && (st) != S_NONE)

proctype Sender()
{
	byte h = START, k = 1, tv, off;
	bool wait, ok;

	do
	:: k > M -> break
	:: else ->
		if
		:: scrib_done && clean_from > M -> clean_from = k
		:: else
		fi;
		/* try_put: room from the receiver's tail, if believable */
room:
		atomic { tv = tail; read_k = k };
		if
		:: tv > h ->
			/* the receiver dropped past our head: follow it */
			h = tv; head = h
		:: else
		fi;
		if
		:: h - tv >= CAP ->
			/* full, or a tail more than a ring behind (no honest
			 * receiver is): wait, it puts its tail back */
#ifndef NO_HEAD_HEAL
			/* our own word: put it back if scribbled */
			if
			:: head != h -> head = h
			:: else
			fi;
#endif
			/* sleep until the tail moves (the receiver rings us) */
			(tail != tv
#ifndef NO_HEAD_HEAL
			 || head != h
#endif
			);
			goto room
		:: else
		fi;
		off = h % CAP;
		/* put_rec: the payload and header words, the stamp last */
		d_step { sending = k; ring[off].pay.v = k; ring[off].pay.rid = k };
		d_step {
			ring[off].hdr.seq = k; ring[off].hdr.tok = CUR;
			ring[off].hdr.rid = k
		};
		d_step {
			ring[off].stamp.end = h + 1; ring[off].stamp.st = S_PUB;
			published = k
		};
		h = h + 1;
		head = h;
		/* ipm_send(wait=1) for message WAITK, wait=0 for the others */
		wait = (k == WAITK);
		if
		:: wait ->
			do
			:: ack.rid == ACKRID && ack.v == k ->
				completed[k] = 1;
				assert(delivered[k]);
				break
			:: true ->
				/* timeout: withdraw unless claimed */
				atomic {
					if
					:: ring[off].stamp.end == h &&
					   ring[off].stamp.st == S_PUB ->
						ring[off].stamp.st = S_WITHDRAWN;
						ok = 1;
						withdrawn[k] = 1;
#ifdef CHECK_WITHDRAW
						assert(!delivered[k] ||
						       stamp_scribbled)
#endif
					:: else -> ok = 0
					fi
				}
				if
				:: ok -> break
				:: else ->
					/*
					 * Claimed: the receiver delivers it and
					 * acks; wait for that. A scribbled state
					 * could fake the claim: give up then
					 * (what v3 returns is its choice).
					 */
					if
					:: ack.rid == ACKRID && ack.v == k ->
						completed[k] = 1;
						assert(delivered[k])
					:: true -> unsure[k] = 1
					fi;
					break
				fi
			od
		:: else
		fi;
progress_sent:
		k++
	od;
	sender_done = 1
}

proctype Receiver()
{
	byte t = START, expect = 1, off, h, e, st;
	hword q;
	cword p;
	bool claimed;

loop:
	/* drain: our own words, put back if somebody scribbled on them */
	if
	:: tail != t ->
		d_step {
			tail = t;
			if
			:: drop_pending -> dropped_to = read_k; drop_pending = 0
			:: else
			fi
		}
	:: else
	fi;
	if
	:: last > 0 && (ack.v != last || ack.rid != ACKRID) ->
		d_step { ack.v = last; ack.rid = ACKRID }
	:: else
	fi;
	off = t % CAP;
	/* next_rec: the stamp first */
	d_step { e = ring[off].stamp.end; st = ring[off].stamp.st };
	if
	:: READY(e, st, t) -> goto got_rec
	:: else
	fi;
	h = head;
	if
	:: h > t ->
		/* head stored after the stamp: stamp scribbled, or late */
		d_step { e = ring[off].stamp.end; st = ring[off].stamp.st };
		if
		:: READY(e, st, t) -> goto got_rec
		:: else ->	/* drop up to the head */
			d_step { t = h; drop_pending = 1 };
			goto loop
		fi
	:: else
	fi;
sleep:
	/* nothing to do: sleep until a word we read changes (doorbell) */
end_sleep:
	(ring[off].stamp.end != e || head != h || tail != t ||
	 (last > 0 && (ack.v != last || ack.rid != ACKRID)));
	goto loop;

got_rec:
	/* bounds: the record must span exactly its size, inside the ring */
	if
	:: e - t != 1 || off + 1 > CAP -> goto garbage
	:: else
	fi;
	/* the header and payload are copied out, one word at a time */
	d_step {
		q.seq = ring[off].hdr.seq; q.tok = ring[off].hdr.tok;
		q.rid = ring[off].hdr.rid
	};
	d_step { p.v = ring[off].pay.v; p.rid = ring[off].pay.rid };
#ifndef NO_CHECKSUM
	if
	:: q.rid == 0 || q.rid != p.rid -> goto garbage
	:: else
	fi;
#endif
	if
	:: q.tok != CUR -> t = e; goto loop	/* left for an earlier owner */
	:: else
	fi;
#ifndef NO_SEQ
	if
	:: q.seq < expect -> t = e; goto loop	/* replayed: skip */
	:: else
	fi;
#endif
	/* claim: compare-and-swap the stamp state from published */
	atomic {
		if
		:: ring[off].stamp.end == e && ring[off].stamp.st == S_PUB ->
			ring[off].stamp.st = S_CLAIMED;
			claimed = 1
		:: else -> claimed = 0
		fi
	}
	if
	:: !claimed -> t = e; goto loop	/* withdrawn by its sender */
	:: else
	fi;
	/* deliver: the callback gets the payload */
	d_step {
		assert(p.v >= 1 && p.v <= sending);	/* it was sent */
		assert(p.v == q.seq);			/* not corrupted */
		assert(!delivered[p.v]);		/* no duplicate */
		assert(p.v > last);			/* no reordering */
#ifdef CHECK_WITHDRAW
		assert(!withdrawn[p.v] || stamp_scribbled);
#endif
		delivered[p.v] = 1;
		lost = lost + q.seq - expect;
		expect = q.seq + 1;
		last = p.v
	};
progress_delivered:
	t = e;
	tail = t;
	d_step { ack.v = last; ack.rid = ACKRID };
	goto loop;

garbage:
	/* the queue holds garbage: drop up to the head, if believable */
	h = head;
	if
	:: h > t ->
		d_step { t = h; drop_pending = 1 };
		goto loop
	:: else -> goto sleep
	fi
}

/* Writes any word of the queue, SCRIBBLES times at most. */
proctype Scribbler()
{
	byte n = 0, c, d, v;

	do
	:: n < SCRIBBLES ->
		select(c : 0 .. CAP - 1);
		if
		:: select(v : 0 .. M);
		   atomic { ring[c].hdr.seq = v; ring[c].hdr.rid = 0 }
		:: select(v : CUR .. OLD);
		   atomic { ring[c].hdr.tok = v; ring[c].hdr.rid = 0 }
		:: select(v : 0 .. M);
		   atomic { ring[c].pay.v = v; ring[c].pay.rid = 0 }
		:: select(v : LO .. HI); select(d : S_NONE .. S_WITHDRAWN);
		   atomic {
			ring[c].stamp.end = v; ring[c].stamp.st = d;
			stamp_scribbled = 1
		   }
		:: select(v : LO .. HI); head = v
		:: select(v : LO .. HI); tail = v
		:: select(v : 1 .. M); atomic { ack.v = v; ack.rid = 0 }
		:: select(d : 0 .. CAP - 1);
		   /* a whole record copied: its checksum stays good */
		   atomic {
			ring[c].stamp.end = ring[d].stamp.end;
			ring[c].stamp.st = ring[d].stamp.st;
			ring[c].hdr.seq = ring[d].hdr.seq;
			ring[c].hdr.tok = ring[d].hdr.tok;
			ring[c].hdr.rid = ring[d].hdr.rid;
			ring[c].pay.v = ring[d].pay.v;
			ring[c].pay.rid = ring[d].pay.rid;
			stamp_scribbled = 1
		   }
		fi;
		n++
	:: break
	od;
	scrib_done = 1
}

/*
 * The system is stuck (spin's timeout: nothing can move): the honest pair
 * must have finished, and every message sent once the scribbler was done
 * and the receiver's last drop (of what garbage was queued up to the
 * head) must have been delivered, or withdrawn by its sender's timeout.
 */
proctype Quiescence()
{
	byte k;

	timeout ->
	assert(sender_done);
#ifdef CHECK_RECOVERY
	for (k : 1 .. M) {
		assert(k < clean_from || k <= dropped_to || delivered[k] ||
		       withdrawn[k] || unsure[k] || stamp_scribbled)
	}
#endif
}

init {
	/* An earlier owner's records, delivered or not: plausible stamps. */
	d_step {
		ring[0].stamp.end = 1; ring[0].stamp.st = S_PUB;
		ring[0].hdr.seq = 1; ring[0].hdr.tok = OLD;
		ring[0].hdr.rid = OLDRID;
		ring[0].pay.v = 1; ring[0].pay.rid = OLDRID;
		ring[1].stamp.end = 2; ring[1].stamp.st = S_CLAIMED;
		ring[1].hdr.seq = 2; ring[1].hdr.tok = OLD;
		ring[1].hdr.rid = OLDRID + 1;
		ring[1].pay.v = 2; ring[1].pay.rid = OLDRID + 1
	};
	atomic {
		run Sender();
		run Receiver();
		run Scribbler();
		run Quiescence()
	}
}

#ifdef LTL
/* The honest sender always finishes (weak fairness, pan -a -f). */
ltl sender_finishes { <> sender_done }
#endif
