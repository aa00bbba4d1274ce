/*
 * SPDX-License-Identifier: MIT
 *
 * A model of one mailbox queue, layout version 4 (docs/mailbox-layout.md):
 * an honest sender, an honest receiver and a scribbler that may write any
 * word of the queue a few times. tests/model/README.md maps every process,
 * variable and step to the code and says what is abstracted; run.sh
 * checks it with spin.
 *
 * Variants (spin -D...):
 *   (none)          every property asserted must hold
 *   NO_SEQ          the receiver skips no old sequence number (with the
 *                   checked tail, spin finds no replay in one queue: the
 *                   stamp's checked index already refuses a copied record;
 *                   not run by the test, README.md)
 *   NO_CHECKSUM     the receiver does not check the checksum: spin must
 *                   find a corrupted delivery
 *   NO_TAIL_CHECK   the sender believes the tail word without its check
 *                   (tail_check), as layout version 3 before it did:
 *                   spin must find a lost message or a stuck pair
 *   CHECK_WITHDRAW  also: no delivery after its sender returned
 *                   -ETIMEDOUT, and a wait=1 send that returned 0 because
 *                   the record was claimed is delivered (held since the
 *                   claimed stamp is checked: README.md, "Fixed")
 *   NO_CLAIM_STAMP  with CHECK_WITHDRAW: the sender does not check the
 *                   claimed stamp (the claim word alone, as before): spin
 *                   must find open case (a) again
 *   CHECK_RECOVERY  also: every message sent once the scribbler is done
 *                   and the receiver's last drop is behind is delivered
 */

#ifndef M
#define M 3		/* messages the sender sends */
#endif
#ifndef CAP
#define CAP 2		/* records the ring holds */
#endif
#ifndef SCRIBBLES
#define SCRIBBLES 1	/* words the scribbler writes, at most */
#endif
#ifndef WAITK
#define WAITK 2		/* the message sent with wait=1 (an ACK record) */
#endif
#define START 2		/* the queue's head when the pair attached */
#define LO (START - 1)	/* scribbled indexes and stamps: LO .. HI */
#define HI (START + M + 1)

#define CUR 1		/* the honest pair's tokens (src, dst) */
#define OLD 2		/* the tokens of a slot's earlier owner */
#define ACKRID 9	/* an ack word the receiver computed */
#define CLAIMRID 8	/* a claim word the receiver computed */
#define TAILRID 7	/* a tail_check word the receiver computed */
#define HEADRID 6	/* a head_check word the sender computed */
#define OLDRID 10	/* records an earlier owner left: 10, 11 */

/* A record's state, in the stamp's low bits. */
#define S_NONE 0
#define S_PUB 1
#define S_CLAIMED 2
#define S_WITHDRAWN 3

/*
 * A checked word: its value and the write that produced it (rid: the
 * message number for the sender's, 0 for a scribbled one). A record's
 * checksum is good iff its checked words all carry one rid other than 0.
 */
typedef cword {
	byte v;
	byte rid
};

/*
 * The stamp: its index is under the checksum, its state is not; a
 * receiver's claimed stamp carries its own check (cl: the seq the
 * receiver claimed it for, 0 for any other stamp: ipmc_claim_stamp).
 */
typedef stampw {
	byte end;	/* the queue index just past the record */
	byte erid;
	byte st;	/* S_* */
	byte cl
};

/* The header's checked fields. */
typedef hword {
	byte seq;	/* per-queue sequence number, bound to the tokens */
	byte tok;	/* src/dst tokens (one value for the pair) */
	bit ack;	/* flags ACK: the sender waits */
	byte rid
};

typedef rec {
	stampw stamp;
	hword hdr;
	cword pay	/* the payload (its message number) and the sum */
};

rec ring[CAP];
cword headw;		/* sender: its head, checked (head_check) */
cword tailw;		/* receiver: its tail, checked (tail_check) */
cword ackw;		/* receiver: the last ACK record completed (seq) */
cword claimw;		/* receiver: the last ACK record it claims (seq) */

/* Ghosts: what really happened, for the assertions only. */
byte sending;		/* ipm_send was called for messages 1 .. sending */
byte seq_of[M + 1];	/* the sequence number message k was sent with */
bool delivered[M + 1];
bool withdrawn[M + 1];	/* ipm_send returned -ETIMEDOUT: withdrawn */
bool returned0[M + 1];	/* ipm_send(wait=1) returned 0 */
byte last;		/* the last message delivered */
byte lost;		/* counted by the receiver (sequence gaps) */
bool sender_done, scrib_done;
byte clean_from = M + 1;	/* first message sent after the scribbler */
byte dropped_to;	/* messages a drop may have lost */
byte read_k;		/* the message whose room check read the tail last */
bool drop_pending;	/* a drop whose tail is not stored yet */
bool stamp_scribbled;	/* the scribbler wrote a stamp word */
/* the receiver is between checking an ACK record and storing its claim
 * word (a few instructions: what the sender's grace waits out) */
bool inclaim;

/* The sender believes a tail word: only the receiver's own (its check). */
#ifdef NO_TAIL_CHECK
#define TAIL_OK(rid) 1
#else
#define TAIL_OK(rid) ((rid) == TAILRID)
#endif

#define BELIEVE(x, from) ((x) >= (from) && (x) - (from) <= CAP)
#ifdef NO_HEAD_CHECK
#define HEAD_OK(rid) 1
#else
#define HEAD_OK(rid) ((rid) == HEADRID)
#endif
#ifdef NO_CLAIM_STAMP
#define CLAIM_STAMP_OK(off, h, seq) 0
#else
#define CLAIM_STAMP_OK(off, h, seq) (ring[off].stamp.end == (h) && \
	ring[off].stamp.st == S_CLAIMED && ring[off].stamp.cl == (seq))
#endif
#define NEW(e, t) ((e) > (t) && (e) - (t) <= CAP)
/* A record is there: a new index and a state that says published. */
#define READY(e, st, t) (NEW(e, t) && (st) != S_NONE)

proctype Sender()
{
	byte h = START, k = 1, seq = 1, tv = START, rv, rr, off;
	bool wait, won, again;

	do
	:: k > M -> break
	:: else ->
		if
		:: scrib_done && clean_from > M -> clean_from = k
		:: else
		fi;
		wait = (k == WAITK);
		again = 0;
		/* try_put: room from the receiver's tail, if it checks */
room:
		atomic { rv = tailw.v; rr = tailw.rid; read_k = k };
		if
		:: TAIL_OK(rr) && rv > h ->
			/* the receiver is past us (it dropped up to a
			 * bogus head): follow it (mbox_send.c read_tail) */
			h = rv; d_step { headw.v = h; headw.rid = HEADRID };
			tv = rv
		:: TAIL_OK(rr) && rv <= h && rv > tv -> tv = rv
		:: else		/* scribbled, or older: not believed */
		fi;
		if
		:: h - tv >= CAP ->
			/* full: put our head back, sleep until the tail
			 * word moves (or our head is scribbled again) */
			if
			:: headw.v != h || headw.rid != HEADRID ->
				d_step { headw.v = h; headw.rid = HEADRID }
			:: else
			fi;
			(tailw.v != rv || tailw.rid != rr || headw.v != h ||
			 headw.rid != HEADRID);
			goto room
		:: else
		fi;
		off = h % CAP;
		/* put_rec: payload (and sum), header, the stamp last */
		d_step {
			sending = k; seq_of[k] = seq;
			ring[off].pay.v = k; ring[off].pay.rid = k
		};
		d_step {
			ring[off].hdr.seq = seq; ring[off].hdr.tok = CUR;
			ring[off].hdr.ack = wait; ring[off].hdr.rid = k
		};
		d_step {
			ring[off].stamp.end = h + 1; ring[off].stamp.erid = k;
			ring[off].stamp.st = S_PUB; ring[off].stamp.cl = 0
		};
		h = h + 1;
		d_step { headw.v = h; headw.rid = HEADRID };
		if
		:: !wait -> seq++
		:: wait ->
			do
			:: ackw.rid == ACKRID && ackw.v == seq ->
				/* the receiver completed exactly this one */
				returned0[k] = 1;
				assert(delivered[k]);
				seq++;
				break
			:: true ->
				/* the deadline: withdraw unless claimed */
				atomic {
					if
					:: ring[off].stamp.end == h &&
					   ring[off].stamp.st == S_PUB ->
						ring[off].stamp.st = S_WITHDRAWN;
						won = 1
					:: else -> won = 0
					fi
				}
				if
				:: won ->
					/* zero the sum: a restored stamp
					 * cannot make it deliverable */
					ring[off].pay.rid = 0;
					/* the grace: a receiver that swapped
					 * just before us (and a third party
					 * put PUBLISHED back) stores its claim
					 * word within it */
					(!inclaim || (claimw.rid == CLAIMRID &&
					 claimw.v == seq) ||
					 (ackw.rid == ACKRID && ackw.v == seq));
					if
					:: (claimw.rid == CLAIMRID &&
					    claimw.v == seq) ||
					   (ackw.rid == ACKRID &&
					    ackw.v == seq) ->
						/* taken after all (the
						 * stamp was put back) */
						returned0[k] = 1;
						seq++;
						break
					:: else
					fi;
#ifdef CHECK_WITHDRAW
					assert(!delivered[k]);
#endif
					goto gone	/* seq reused */
				:: else
				fi;
				/* the grace: a stamp that is neither ours
				 * nor a claimed one that checks, with
				 * neither word, waits out the receiver's two
				 * steps between its swap and its claim word */
				(!inclaim || (claimw.rid == CLAIMRID &&
				 claimw.v == seq) ||
				 (ackw.rid == ACKRID && ackw.v == seq));
				if
				:: CLAIM_STAMP_OK(off, h, seq) ||
				   (claimw.rid == CLAIMRID &&
				    claimw.v == seq) ||
				   (ackw.rid == ACKRID && ackw.v == seq) ->
					/* claimed or acked: delivered */
					returned0[k] = 1;
					seq++;
					break
				:: else ->
					/* scribbled: withdraw from whatever
					 * is there (a claimed stamp that
					 * checks stops it), zero the sum */
					atomic {
						if
						:: CLAIM_STAMP_OK(off, h, seq) ->
							won = 0
						:: else ->
							ring[off].stamp.st =
								S_WITHDRAWN;
							ring[off].pay.rid = 0;
							won = 1
						fi
					}
					if
					:: !won ->
						returned0[k] = 1;
						seq++;
						break
					:: else
					fi;
#ifdef CHECK_WITHDRAW
					assert(!delivered[k]);
#endif
					goto gone
				fi
gone:
				/* withdrawn: never delivered. Passed over by
				 * the receiver (its checked tail past the
				 * record): publish it again, once (the
				 * deadline bounds it in the code); else
				 * -ETIMEDOUT */
				if
				:: !again && TAIL_OK(tailw.rid) &&
				   tailw.v >= h ->
					again = 1;
					goto room
				:: else ->
					withdrawn[k] = 1;
					break
				fi
			od
		fi;
progress_sent:
		k++
	od;
	sender_done = 1
}

proctype Receiver()
{
	byte t = START, expect = 1, off, h, hr, e, er, st, acked;
	hword q;
	cword p;
	bool claimed;

loop:
	/* drain: our own words, put back if somebody scribbled on them */
	if
	:: tailw.v != t || tailw.rid != TAILRID ->
		d_step {
			tailw.v = t; tailw.rid = TAILRID;
			if
			:: drop_pending -> dropped_to = read_k; drop_pending = 0
			:: else
			fi
		}
	:: else
	fi;
	if
	:: acked > 0 && (ackw.v != acked || ackw.rid != ACKRID) ->
		d_step { ackw.v = acked; ackw.rid = ACKRID }
	:: else
	fi;
	off = t % CAP;
	/* next_rec: the stamp first */
	d_step {
		e = ring[off].stamp.end; er = ring[off].stamp.erid;
		st = ring[off].stamp.st
	};
	if
	:: READY(e, st, t) -> goto got_rec
	:: else
	fi;
	d_step { h = headw.v; hr = headw.rid };
	if
	:: HEAD_OK(hr) && BELIEVE(h, t) && h != t ->
		/* head stored after the stamp: stamp scribbled, or late */
		d_step {
			e = ring[off].stamp.end; er = ring[off].stamp.erid;
			st = ring[off].stamp.st
		};
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
	(ring[off].stamp.end != e || ring[off].stamp.st != st ||
	 headw.v != h || headw.rid != hr || tailw.v != t ||
	 tailw.rid != TAILRID ||
	 (acked > 0 && (ackw.v != acked || ackw.rid != ACKRID)));
	goto loop;

got_rec:
	/* bounds: the record must span exactly its size, inside the ring */
	if
	:: e - t != 1 || off + 1 > CAP -> goto garbage
	:: else
	fi;
	if
	:: st == S_WITHDRAWN || st == S_CLAIMED -> t = e; goto loop
	:: else
	fi;
	/* the header and payload are copied out, one word at a time */
	d_step {
		q.seq = ring[off].hdr.seq; q.tok = ring[off].hdr.tok;
		q.ack = ring[off].hdr.ack; q.rid = ring[off].hdr.rid
	};
	d_step {
		p.v = ring[off].pay.v; p.rid = ring[off].pay.rid;
		inclaim = q.ack
	};
	if
	:: q.tok != CUR ->	/* left for an earlier owner */
		inclaim = 0; t = e; goto loop
	:: else
	fi;
#ifndef NO_CHECKSUM
	if
	:: er == 0 || er != q.rid || q.rid != p.rid ->
		inclaim = 0; t = e; goto loop	/* corrupt: skip it */
	:: else
	fi;
#endif
#ifndef NO_SEQ
	if
	:: q.seq < expect ->	/* replayed: skip */
		inclaim = 0; t = e; goto loop
	:: else
	fi;
#endif
	if
	:: q.ack ->
		/* claim: compare-and-swap the stamp to our claimed stamp
		 * (its own check), then the claim word (ring.c claim()) */
		atomic {
			if
			:: ring[off].stamp.end == e &&
			   ring[off].stamp.st == S_PUB ->
				ring[off].stamp.st = S_CLAIMED;
				ring[off].stamp.cl = q.seq;
				claimed = 1
			:: else -> claimed = 0
			fi
		}
		if
		:: !claimed ->
			/* lost the claim: withdrawn (or scribbled) */
			inclaim = 0; t = e; goto loop
		:: else
		fi;
		d_step { claimw.v = q.seq; claimw.rid = CLAIMRID; inclaim = 0 }
	:: else
	fi;
	/* deliver our copy: the callback gets the payload */
	d_step {
		assert(p.v >= 1 && p.v <= sending);	/* it was sent */
		assert(seq_of[p.v] == q.seq);		/* not corrupted */
		assert(!delivered[p.v]);		/* no duplicate */
		assert(p.v > last);			/* no reordering */
#ifdef CHECK_WITHDRAW
		assert(!withdrawn[p.v]);	/* not after -ETIMEDOUT */
#endif
		delivered[p.v] = 1;
		lost = lost + q.seq - expect;
		expect = q.seq + 1;
		last = p.v
	};
progress_delivered:
	t = e;
	d_step { tailw.v = t; tailw.rid = TAILRID };
	if
	:: q.ack -> d_step { acked = q.seq; ackw.v = q.seq; ackw.rid = ACKRID }
	:: else
	fi;
	goto loop;

garbage:
	/* the queue holds garbage: drop up to the head, if believable */
	atomic { h = headw.v; hr = headw.rid };
	if
	:: HEAD_OK(hr) && BELIEVE(h, t) && h != t ->
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
		:: atomic { ring[c].hdr.tok = CUR; ring[c].hdr.rid = 0 }
		:: atomic { ring[c].hdr.ack = 1 - ring[c].hdr.ack;
			    ring[c].hdr.rid = 0 }
		:: select(v : 0 .. M);
		   atomic { ring[c].pay.v = v; ring[c].pay.rid = 0 }
		:: select(v : LO .. HI); select(d : S_NONE .. S_WITHDRAWN);
		   atomic {
			ring[c].stamp.end = v; ring[c].stamp.erid = 0;
			ring[c].stamp.st = d; ring[c].stamp.cl = 0;
			stamp_scribbled = 1
		   }
		:: select(d : S_NONE .. S_WITHDRAWN);
		   /* the same index, another state: the checksum holds;
		    * a claimed stamp's own check does not */
		   atomic {
			if
			:: ring[c].stamp.st != d -> ring[c].stamp.cl = 0
			:: else
			fi;
			ring[c].stamp.st = d; stamp_scribbled = 1
		   }
		:: select(v : LO .. HI); atomic { headw.v = v; headw.rid = 0 }
		:: select(v : LO .. HI);
		   /* the sender's own word, replayed: an older head */
		   atomic {
			if
			:: headw.rid == HEADRID && v < headw.v -> headw.v = v
			:: else
			fi
		   }
		:: select(v : LO .. HI); atomic { tailw.v = v; tailw.rid = 0 }
		:: select(v : LO .. HI);
		   /* the receiver's own word, replayed: an older tail */
		   atomic {
			if
			:: tailw.rid == TAILRID && v < tailw.v -> tailw.v = v
			:: else
			fi
		   }
		:: select(v : 1 .. M); atomic { ackw.v = v; ackw.rid = 0 }
		:: select(v : 1 .. M); atomic { claimw.v = v; claimw.rid = 0 }
		:: select(d : 0 .. CAP - 1);
		   /* a whole record copied: its checksum stays good */
		   atomic {
			ring[c].stamp.end = ring[d].stamp.end;
			ring[c].stamp.erid = ring[d].stamp.erid;
			ring[c].stamp.st = ring[d].stamp.st;
			ring[c].stamp.cl = ring[d].stamp.cl;
			ring[c].hdr.seq = ring[d].hdr.seq;
			ring[c].hdr.tok = ring[d].hdr.tok;
			ring[c].hdr.ack = ring[d].hdr.ack;
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
 * must have finished.
 */
proctype Quiescence()
{
	byte k;

	timeout ->
	assert(sender_done);
#if defined(CHECK_WITHDRAW) || defined(CHECK_RECOVERY)
	for (k : 1 .. M) {
#ifdef CHECK_WITHDRAW
		assert(!returned0[k] || delivered[k]);
#endif
#ifdef CHECK_RECOVERY
		/* a message withdrawn yet delivered (open finding 1) makes
		 * the next, which reuses its seq, look replayed */
		assert(k < clean_from || k <= dropped_to || delivered[k] ||
		       withdrawn[k] || stamp_scribbled ||
		       (withdrawn[k - 1] && delivered[k - 1]));
#endif
		skip
	}
#endif
}

init {
	/* An earlier owner's records, delivered or not: plausible stamps. */
	d_step {
		tailw.v = START; tailw.rid = TAILRID;
		headw.v = START; headw.rid = HEADRID;
		ring[0].stamp.end = 1; ring[0].stamp.erid = OLDRID;
		ring[0].stamp.st = S_PUB;
		ring[0].hdr.seq = 1; ring[0].hdr.tok = OLD;
		ring[0].hdr.rid = OLDRID;
		ring[0].pay.v = 1; ring[0].pay.rid = OLDRID;
		ring[1].stamp.end = 2; ring[1].stamp.erid = OLDRID + 1;
		ring[1].stamp.st = S_CLAIMED;
		ring[1].hdr.seq = 2; ring[1].hdr.tok = OLD;
		ring[1].hdr.ack = 1; ring[1].hdr.rid = OLDRID + 1;
		ring[1].pay.v = 2; ring[1].pay.rid = OLDRID + 1
	};
	atomic {
		run Sender();
		run Receiver();
		run Scribbler();
		run Quiescence()
	}
}
