// SPDX-License-Identifier: GPL-2.0
/*
 * page_ref_torture: a kthread race harness for the page refcount
 *
 * Kernel threads on every CPU race the operations of <linux/page_ref.h> on
 * real pages of the page allocator: the speculative get
 * (page_ref_add_unless_zero()), the put that may be the last
 * (page_ref_dec_and_test() and its claim), page_ref_freeze(),
 * page_ref_unfreeze() and page_ref_make_ownerless(). The scenarios are the
 * races of pageref's design (R1-R7b):
 *
 *   r1     try-get against the last put, whose decrement and claim an
 *          injection point pulls apart; dead pages are recycled by the
 *          harness itself, as the allocator would hand them out again
 *   r2     put against put: of many concurrent puts, exactly one frees
 *   r3     try-get against freeze: no get succeeds on a frozen page
 *   r4     try-get against unfreeze: failed gets pile up on a frozen page,
 *          and after unfreeze(n) the count is exactly n
 *   r5     gets on pages nobody owns: pages made ownerless, free pages,
 *          tail pages of a non-compound order-2 allocation
 *   r6     a flood of large failed gets on frozen pages: bit 31 holds and
 *          the overflow guard keeps the leftovers below 2^30
 *   r7     stale claims: pages really freed and reallocated while getters
 *          keep stale pointers, as page-cache lookups do under RCU
 *   r7b    stale claims on the kernel's raw free paths (__free_pages(),
 *          free_pages(), page_frag_free()), whose callers free what they
 *          chose: pages freed, split and reallocated under stale getters
 *   mixed  all of them at once
 *
 * The interface is locktorture's. Module parameters choose the scenarios,
 * the implementation under test (the C inline code, or with
 * CONFIG_PAGE_REF_EXTERN the Rust one, switched with page_ref_extern_key) and
 * a deliberately broken variant (CONFIG_PAGE_REF_TEST_VARIANTS). A stats line
 * is printed every stat_interval seconds, one verdict line per scenario,
 *
 *   page_ref_torture: verdict scenario=r1 impl=c scheme=frozen variant=correct
 *                     ops=123456 violations=0 result=PASS
 *
 * (on one line), and a closing "end of test" line with the free page count before and after.
 * A run stops by itself after duration seconds per scenario; unloading the
 * module stops it early, and every page it holds is freed either way.
 *
 * Every check is sound for the correct algorithm: it reports only what the
 * page refcount forbids. A speculative get that succeeds on a page that was
 * freed and reallocated is legitimate, as it is for a page-cache lookup that
 * re-checks after the get; a violation is a get that succeeds on a page
 * known to be frozen, free or without owner, a second free of one
 * incarnation of a page, a last put that wins while a reference is known to
 * be held, or a count that is not exact when no thread holds the page.
 *
 * The pages of r2, r3, r4, r6 and of r1 never leave the harness while their
 * scenario runs, so a broken variant only corrupts the harness's own pages
 * there; r5 and r7 hand pages back to the allocator, where a broken variant
 * can corrupt the kernel, as it does in any boot that runs it.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/gfp.h>
#include <linux/jiffies.h>
#include <linux/jump_label.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/page_frag_cache.h>
#include <linux/page_ref.h>
#include <linux/panic.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/swap.h>

/* Parameters, as locktorture declares them: each once, with its meaning. */

static char *scenarios = "";
module_param(scenarios, charp, 0444);
MODULE_PARM_DESC(scenarios,
		 "Scenarios to run at load: comma list of r1..r7, mixed, or all (empty: none)");

static char *impl = "";
module_param(impl, charp, 0444);
MODULE_PARM_DESC(impl, "Implementation under test: c or rust (empty: as the kernel runs)");

static char *variant = "";
module_param(variant, charp, 0444);
MODULE_PARM_DESC(variant, "Broken variant to run, or correct (empty: as the kernel runs)");

static int nthreads;
module_param(nthreads, int, 0444);
MODULE_PARM_DESC(nthreads, "Threads per scenario, 2..1024 (0: one per online CPU, at least 2)");

static int npages = 8;
module_param(npages, int, 0444);
MODULE_PARM_DESC(npages, "Pages each scenario races on, 1..4096");

static int duration = 10;
module_param(duration, int, 0444);
MODULE_PARM_DESC(duration, "Seconds each scenario runs, 1..86400");

static int stat_interval = 5;
module_param(stat_interval, int, 0444);
MODULE_PARM_DESC(stat_interval, "Seconds between stats lines, 0..3600 (0: none)");

static int delay_ns = 2000;
module_param(delay_ns, int, 0444);
MODULE_PARM_DESC(delay_ns, "Injected delay between a put's decrement and its claim (ns), 0..100000");

static int inject = 2;
module_param(inject, int, 0444);
MODULE_PARM_DESC(inject, "One release in this many gets the injected delay, 0..1000000 (0: none)");

static bool stop_on_violation;
module_param(stop_on_violation, bool, 0444);
MODULE_PARM_DESC(stop_on_violation, "End each scenario at its first violation");

static bool wait;
module_param(wait, bool, 0444);
MODULE_PARM_DESC(wait, "Return from the load only when the run has ended");

enum prt_scenario {
	PRT_R1,
	PRT_R2,
	PRT_R3,
	PRT_R4,
	PRT_R5,
	PRT_R6,
	PRT_R7,
	PRT_R7B,
	PRT_MIXED,
	PRT_NR_SCENARIOS
};

/* Each of r1..r7b is one engine; mixed runs them all at once. */
#define PRT_NR_ENGINES	PRT_MIXED

static const char * const prt_scenario_names[PRT_NR_SCENARIOS] = {
	"r1", "r2", "r3", "r4", "r5", "r6", "r7", "r7b", "mixed",
};

enum prt_impl {
	PRT_IMPL_ASIS,		/* whatever the kernel runs now */
	PRT_IMPL_C,		/* the inline code of <linux/page_ref.h> */
	PRT_IMPL_RUST,		/* pageref's Rust module (CONFIG_PAGE_REF_EXTERN) */
};

/* What one run does: the parameters, checked. */
struct prt_cfg {
	unsigned long scenarios;	/* BIT(enum prt_scenario) */
	int nthreads;
	int npages;
	unsigned int duration_ms;
	unsigned int stat_interval;	/* seconds */
	unsigned int delay_ns;
	unsigned int inject;
	enum prt_impl impl;
	int variant;			/* enum page_ref_test_variant, or -1: as is */
	bool stop_on_violation;
};

enum prt_stat {
	PRT_OPS,	/* refcount operations attempted */
	PRT_GETS,	/* speculative gets that succeeded */
	PRT_FAILS,	/* speculative gets that failed */
	PRT_FREES,	/* incarnations freed by the put that won them */
	PRT_REVIVALS,	/* gets on an incarnation its owner had released: while
			 * others held it, or between the last put's decrement
			 * and its claim (a revival, with the frozen bit)
			 */
	PRT_STALE,	/* last puts that won a later incarnation than their own */
	PRT_FOREIGN,	/* last puts won on pages that were someone else's by then */
	PRT_INJECTED,	/* puts with the injected delay */
	PRT_NR_STATS
};

static const char * const prt_stat_names[PRT_NR_STATS] = {
	"ops", "gets", "failed_gets", "frees", "revivals", "stale_claims",
	"foreign_frees", "injected",
};

/* Stale page pointers a getter keeps, as a lookup that raced a free would. */
#define PRT_NSTALE	8

struct prt_engine;

struct prt_worker {
	struct prt_engine *e;
	struct task_struct *task;
	unsigned int id;	/* index in the engine */
	u32 rnd;
	unsigned long st[PRT_NR_STATS];
	struct {
		struct page *page;
		unsigned int slot;
	} stale[PRT_NSTALE];
	unsigned int stale_pos;
	bool may_wait;		/* r7b: in a put of its own, which may sleep */
	bool wait_long;		/* r7b: and it is a raw free: a long window */
} ____cacheline_aligned_in_smp;

struct prt_engine_ops {
	/* One operation of worker @w; called until the run stops. */
	void (*work)(struct prt_worker *w);
	/* All workers stopped: the final checks, then free the pages and @e. */
	void (*finish)(struct prt_engine *e);
};

struct prt_run;

struct prt_engine {
	const struct prt_engine_ops *ops;
	struct prt_run *run;
	enum prt_scenario kind;
	int nworkers;
	struct prt_worker *workers;
};

/* One scenario being run. */
struct prt_run {
	const struct prt_cfg *cfg;
	enum prt_scenario sc;
	bool stop;
	unsigned long start;		/* jiffies */
	atomic_t violations;
	atomic_t reported;
	atomic_long_t first_ms;		/* to the first violation; -1: none */
	const char *impl;		/* what ran, for the verdict */
	const char *variant;
	int nengines;
	struct prt_engine *engines[PRT_NR_ENGINES];
};

struct prt_result {
	unsigned long st[PRT_NR_STATS];
	int violations;
	long first_ms;
	bool complete;
};

/* Only one run at a time: the variant and the implementation are global. */
static DEFINE_MUTEX(prt_lock);
/* Set to end the run early (module unload). */
static bool prt_abort;
/* Pages the harness holds a reference to, and pages it gave up on. */
static atomic_long_t prt_held = ATOMIC_LONG_INIT(0);
static atomic_long_t prt_leaked = ATOMIC_LONG_INIT(0);

#define PRT_MAX_REPORTS	8
/* How long a sleeping injected window lasts (us), now and then. */
#define PRT_SLEEP_US	20

static u32 prt_rand(struct prt_worker *w)
{
	u32 x = w->rnd;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	w->rnd = x;
	return x;
}

static void prt_inc(struct prt_worker *w, enum prt_stat s)
{
	WRITE_ONCE(w->st[s], w->st[s] + 1);
}

static bool prt_stopping(struct prt_run *run)
{
	return READ_ONCE(run->stop) || READ_ONCE(prt_abort);
}

static bool prt_worker_stopping(struct prt_worker *w)
{
	return prt_stopping(w->e->run) || kthread_should_stop();
}

/* Spin a little, then sleep: also lets the other threads of a single CPU run. */
static void prt_relax(unsigned int i)
{
	if (i < 64)
		cpu_relax();
	else
		usleep_range(10, 20);
	cond_resched();
}

/*
 * Widen a race window: spin for @ns, or now and then sleep, as a put or a
 * freezer that is preempted or interrupted would. The sleep is also what
 * lets the other threads into the window on a single CPU.
 */
static void prt_window(struct prt_worker *w, unsigned int ns)
{
	if (prt_rand(w) % 8 == 0)
		usleep_range(PRT_SLEEP_US, 2 * PRT_SLEEP_US);
	else if (ns)
		ndelay(ns);
}

/* A short, random hold of a reference. */
static void prt_hold(struct prt_worker *w)
{
	u32 r = prt_rand(w);

	if (r % 4 == 0)
		ndelay(r >> 23);
}

static __printf(2, 3) void prt_violation(struct prt_engine *e, const char *fmt, ...)
{
	struct prt_run *run = e->run;
	struct va_format vaf;
	va_list args;

	if (atomic_inc_return(&run->violations) == 1)
		atomic_long_set(&run->first_ms, jiffies_to_msecs(jiffies - run->start));
	if (run->cfg->stop_on_violation)
		WRITE_ONCE(run->stop, true);
	if (atomic_inc_return(&run->reported) > PRT_MAX_REPORTS)
		return;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_err("VIOLATION scenario=%s engine=%s: %pV\n", prt_scenario_names[run->sc],
	       prt_scenario_names[e->kind], &vaf);
	va_end(args);
}

/* The raw value of a free or frozen page, in either scheme. */
static bool prt_frozen_word(int v)
{
	return IS_ENABLED(CONFIG_PAGE_REF_FROZEN_BIT) ? v < 0 : v == 0;
}

static int prt_word(struct page *page)
{
	return atomic_read(&page->_refcount);
}

/* A page the caller holds a reference to cannot count zero. */
static bool prt_held_ok(struct prt_worker *w, struct page *page)
{
	int v = prt_word(page);

	if (v > 0)
		return true;
	prt_violation(w->e, "page %#lx reads %#x while we hold a reference to it",
		      page_to_pfn(page), v);
	return false;
}

static struct page *prt_alloc(unsigned int order)
{
	struct page *page = alloc_pages(GFP_KERNEL | __GFP_NOWARN, order);

	if (page)
		atomic_long_add(1 << order, &prt_held);
	return page;
}

static void prt_free(struct page *page, unsigned int order)
{
	atomic_long_sub(1 << order, &prt_held);
	__free_pages(page, order);
}

/* A page of the harness that all workers are done with, whatever it counts. */
static void prt_free_reset(struct page *page)
{
	set_page_count(page, 1);
	prt_free(page, 0);
}

/* A page the harness gives up on after a violation: never freed. */
static void prt_give_up(struct page *page)
{
	atomic_long_dec(&prt_held);
	atomic_long_inc(&prt_leaked);
}

/*
 * The last put of a release. With the frozen bit, one in cfg->inject takes
 * the decrement and the claim apart, as page_ref_dec_and_test() does them
 * in one go, and waits in between: that is the window of R1 and R7.
 */
static bool prt_last_put(struct prt_worker *w, struct page *page)
{
#ifdef CONFIG_PAGE_REF_FROZEN_BIT
	const struct prt_cfg *cfg = w->e->run->cfg;

	if (cfg->inject && prt_rand(w) % cfg->inject == 0) {
		int count = atomic_dec_return(&page->_refcount);

		prt_inc(w, PRT_INJECTED);
		if (count < 0) {
			prt_violation(w->e, "a put found page %#lx free or frozen (%#x)",
				      page_to_pfn(page), count);
			return false;
		}
		prt_window(w, cfg->delay_ns);
		return page_ref_last_put(page, count);
	}
#endif
	return page_ref_dec_and_test(page);
}

/*
 * Barriers for the scenarios that run in rounds (r2, r6): false when the run
 * stops, the round then being abandoned.
 */
struct prt_barrier {
	atomic_t arrived;
	unsigned int phase;
	int n;
};

static bool prt_barrier(struct prt_worker *w, struct prt_barrier *b)
{
	/* Pairs with the release below: what the last round did is visible. */
	unsigned int phase = smp_load_acquire(&b->phase);
	unsigned int i;

	if (atomic_inc_return(&b->arrived) == b->n) {
		atomic_set(&b->arrived, 0);
		/* The reset count and this round's work, before the others go on. */
		smp_store_release(&b->phase, phase + 1);
		return true;
	}
	/* Pairs with the release above. */
	for (i = 0; smp_load_acquire(&b->phase) == phase; i++) {
		if (prt_worker_stopping(w))
			return false;
		prt_relax(i);
	}
	return true;
}

/*
 * A page published to getters, who announce themselves before they read the
 * pointer: once the owner has withdrawn it and seen no getter, none can
 * still be using it. What a getter did to the page happens before the
 * owner's next step.
 */
struct prt_pub {
	struct page *page;
	atomic_t users;
} ____cacheline_aligned_in_smp;

static struct page *prt_pub_enter(struct prt_pub *p)
{
	atomic_inc(&p->users);
	/* Announced before the pointer is read: pairs with prt_unpublish(). */
	smp_mb__after_atomic();
	return READ_ONCE(p->page);
}

static void prt_pub_leave(struct prt_pub *p)
{
	/* What the getter did to the page, before the owner sees it gone. */
	smp_mb__before_atomic();
	atomic_dec(&p->users);
}

static void prt_publish(struct prt_pub *p, struct page *page)
{
	/* The page's state, before a getter can find it. */
	smp_store_release(&p->page, page);
}

static void prt_unpublish(struct prt_pub *p)
{
	unsigned int i;

	WRITE_ONCE(p->page, NULL);
	/* Withdrawn before the getters are counted: pairs with prt_pub_enter(). */
	smp_mb();
	for (i = 0; atomic_read(&p->users); i++)
		prt_relax(i);
	/* The getters' gets and puts, before what the owner does next. */
	smp_mb();
}

/*
 * The cache engine (r1, r7): slots that hold a page each, like a page cache.
 *
 * Each page of a slot lives through incarnations: allocated (the slot's
 * reference), released by its owner (who drops that reference), freed by
 * whichever put wins the last claim. The state of an incarnation is kept in
 * a ring of records per slot, and the page itself carries a stamp (its
 * cache, slot and incarnation) in its first bytes, so that the winner of a
 * last put frees what it finds in the page, as R7 requires: not what it
 * believed it was putting.
 *
 * r1 recycles each slot's page itself (pool): a dead page is reallocated
 * with set_page_count(), and getters try-get the slot's page blindly, in any
 * state. r7 frees dead pages to the allocator and refills the slot with
 * alloc_page(); getters look the page up, try-get it and re-check the slot,
 * and keep stale pointers that they try again later.
 */
#define PRT_RECS	8
#define PRT_GEN_MASK	(UINT_MAX >> 2)

enum prt_phase {
	PRT_LIVE,		/* the slot holds its reference */
	PRT_RELEASING,		/* released: the last put's winner will free it */
	PRT_DEAD,		/* freed */
	PRT_ALLOC,		/* being allocated */
};

static const char * const prt_phase_names[] = { "live", "releasing", "dead", "alloc" };

struct prt_slot {
	struct page *page;		/* pool: the slot's page; else the published page */
	atomic_t gen;			/* the slot's latest incarnation */
	unsigned long busy;		/* bit 0: being refilled */
	atomic_t rec[PRT_RECS];		/* incarnation gen's state is rec[gen % PRT_RECS] */
} ____cacheline_aligned_in_smp;

struct prt_cache {
	struct prt_engine e;
	bool pool;
	unsigned int nslots;
	struct prt_slot *slots;
};

/* The stamp in the first bytes of a cache page. */
struct prt_data {
	unsigned long magic;		/* PRT_MAGIC ^ the page's address */
	struct prt_cache *cache;
	unsigned int slot;
	unsigned int gen;
	atomic_long_t gets;		/* references taken by the holders that count */
	atomic_long_t puts;		/* references those holders and the slot put */
};

#define PRT_MAGIC	0x706167657265664eUL

/* The cache engines of the run, to recognise a stamp's cache pointer. */
static struct prt_cache *prt_caches[2];
static DEFINE_SPINLOCK(prt_caches_lock);

static int prt_st(unsigned int gen, enum prt_phase phase)
{
	return (int)((gen & PRT_GEN_MASK) << 2 | phase);
}

static unsigned int prt_st_gen(int st)
{
	return (unsigned int)st >> 2;
}

static enum prt_phase prt_st_phase(int st)
{
	return st & 3;
}

static struct prt_data *prt_data(struct page *page)
{
	return page_address(page);
}

static bool prt_stamped(struct page *page)
{
	return READ_ONCE(prt_data(page)->magic) == (PRT_MAGIC ^ (unsigned long)page);
}

static bool prt_cache_known(struct prt_cache *c)
{
	return c && (c == READ_ONCE(prt_caches[0]) || c == READ_ONCE(prt_caches[1]));
}

static void prt_stamp(struct prt_cache *c, struct page *page, unsigned int s, unsigned int g)
{
	struct prt_data *d = prt_data(page);

	d->cache = c;
	d->slot = s;
	WRITE_ONCE(d->gen, g);
	atomic_long_set(&d->gets, 0);
	atomic_long_set(&d->puts, 0);
	WRITE_ONCE(d->magic, PRT_MAGIC ^ (unsigned long)page);
}

static void prt_cache_refill(struct prt_worker *w, struct prt_cache *c, unsigned int s);

/*
 * r1: the winner hands the dead page out again, as the allocator would. A
 * getter that takes the new count then finds the new incarnation's number
 * and record.
 */
static void prt_reincarnate(struct prt_cache *c, unsigned int s, struct page *page)
{
	struct prt_slot *slot = &c->slots[s];
	unsigned int g = (atomic_read(&slot->gen) + 1) & PRT_GEN_MASK;

	atomic_set(&slot->rec[g % PRT_RECS], prt_st(g, PRT_ALLOC));
	prt_stamp(c, page, s, g);
	/* The record and the stamp, before the number that names them. */
	smp_wmb();
	atomic_set(&slot->gen, g);
	/* The number, before the count that a getter may take. */
	smp_wmb();
	set_page_count(page, 1);
	atomic_set_release(&slot->rec[g % PRT_RECS], prt_st(g, PRT_LIVE));
}

/* The caller's put won the claim of @page, a page stamped by cache @c. */
static void prt_cache_won(struct prt_worker *w, struct prt_cache *c, struct page *page,
			  struct prt_cache *xc, unsigned int xs, unsigned int xg)
{
	struct prt_data *d = prt_data(page);
	unsigned int s = READ_ONCE(d->slot), g = READ_ONCE(d->gen);
	long gets, puts;
	int st;

	if (s >= c->nslots) {
		prt_violation(&c->e,
			      "page %#lx carries a bad stamp (slot %u)",
			      page_to_pfn(page), s);
		return;
	}
	st = atomic_cmpxchg(&c->slots[s].rec[g % PRT_RECS], prt_st(g, PRT_RELEASING),
			    prt_st(g, PRT_DEAD));
	if (st != prt_st(g, PRT_RELEASING)) {
		prt_violation(&c->e,
			      "slot %u incarnation %u: a last put won it in state %s/%u: %s",
			      s, g, prt_phase_names[prt_st_phase(st)], prt_st_gen(st),
			      prt_st_phase(st) == PRT_DEAD ? "a second free" :
			      "its owner's reference was lost");
		return;
	}
	gets = atomic_long_read(&d->gets);
	puts = atomic_long_read(&d->puts);
	if (puts != gets + 1)
		prt_violation(&c->e,
			      "slot %u incarnation %u: its winner sees %ld gets and %ld puts: a reference outlived the last put, or its writes are not visible",
			      s, g, gets, puts);
	prt_inc(w, PRT_FREES);
	if (xc && (xc != c || xs != s || xg != g))
		prt_inc(w, PRT_STALE);
	if (c->pool) {
		prt_reincarnate(c, s, page);
		return;
	}
	WRITE_ONCE(d->magic, 0);
	set_page_count(page, 1);
	__free_page(page);
	/* Reallocate at once, on this CPU: most likely the page just freed. */
	prt_cache_refill(w, c, s);
}

/*
 * The caller's put won the claim of @page, which it got from cache @xc slot
 * @xs incarnation @xg (@xc NULL: a stale pointer, no idea). The winner frees
 * what it finds in the page.
 */
static void prt_won(struct prt_worker *w, struct page *page, struct prt_cache *xc,
		    unsigned int xs, unsigned int xg)
{
	struct prt_cache *c = READ_ONCE(prt_data(page)->cache);

	if (prt_stamped(page) && prt_cache_known(c)) {
		prt_cache_won(w, c, page, xc, xs, xg);
		return;
	}
	if (PageBuddy(page)) {
		prt_violation(w->e, "won the last put of page %#lx, which is free (buddy)",
			      page_to_pfn(page));
		return;
	}
	/* Someone else's by now: they put it while we held a reference. */
	prt_inc(w, PRT_FOREIGN);
	__folio_put(page_folio(page));
}

static void prt_put(struct prt_worker *w, struct page *page, struct prt_cache *xc,
		    unsigned int xs, unsigned int xg)
{
	prt_inc(w, PRT_OPS);
	if (page_ref_dec_and_test(page))
		prt_won(w, page, xc, xs, xg);
}

/* The owner drops the slot's reference: the last put, unless a getter holds one. */
static void prt_cache_release(struct prt_worker *w, struct prt_cache *c, unsigned int s)
{
	struct prt_slot *slot = &c->slots[s];
	unsigned int g = atomic_read(&slot->gen);
	struct page *page;

	if (atomic_cmpxchg(&slot->rec[g % PRT_RECS], prt_st(g, PRT_LIVE),
			   prt_st(g, PRT_RELEASING)) != prt_st(g, PRT_LIVE))
		return;
	page = READ_ONCE(slot->page);
	if (!c->pool) {
		WRITE_ONCE(slot->page, NULL);
		atomic_long_dec(&prt_held);
	}
	atomic_long_inc(&prt_data(page)->puts);
	prt_inc(w, PRT_OPS);
	if (prt_last_put(w, page))
		prt_won(w, page, c, s, g);
	if (!c->pool)
		prt_cache_refill(w, c, s);
}

/* r7: give an empty slot a new page, unless its record is still in use. */
static void prt_cache_refill(struct prt_worker *w, struct prt_cache *c, unsigned int s)
{
	struct prt_slot *slot = &c->slots[s];
	struct page *page;
	unsigned int g;
	atomic_t *rec;

	if (READ_ONCE(slot->page) || test_and_set_bit_lock(0, &slot->busy))
		return;
	if (READ_ONCE(slot->page))
		goto out;
	g = (atomic_read(&slot->gen) + 1) & PRT_GEN_MASK;
	rec = &slot->rec[g % PRT_RECS];
	/* The incarnation that used this record is released but not yet freed. */
	if (prt_st_phase(atomic_read(rec)) == PRT_RELEASING)
		goto out;
	page = prt_alloc(0);
	if (!page)
		goto out;
	atomic_set(rec, prt_st(g, PRT_ALLOC));
	prt_stamp(c, page, s, g);
	atomic_set(&slot->gen, g);
	/* The stamp and the record, before a lookup can find the page. */
	smp_store_release(&slot->page, page);
	atomic_set_release(rec, prt_st(g, PRT_LIVE));
out:
	clear_bit_unlock(0, &slot->busy);
}

/*
 * r1: a blind try-get of the slot's page, in whatever state. One that
 * succeeds holds a reference to the incarnation that is current at that
 * moment, which therefore cannot be dead; it counts its get and its put in
 * the page, and the winner of the last put checks the sums.
 */
static void prt_pool_get(struct prt_worker *w, struct prt_cache *c, unsigned int s)
{
	struct prt_slot *slot = &c->slots[s];
	struct page *page = slot->page;
	struct prt_data *d = prt_data(page);
	unsigned int g;
	int st;

	prt_inc(w, PRT_OPS);
	if (!page_ref_add_unless_zero(page, 1)) {
		prt_inc(w, PRT_FAILS);
		return;
	}
	prt_inc(w, PRT_GETS);
	g = atomic_read(&slot->gen);
	smp_rmb();	/* the record of incarnation g was written before g */
	st = atomic_read(&slot->rec[g % PRT_RECS]);
	if (!prt_held_ok(w, page))
		return;
	if (prt_st_gen(st) != g || prt_st_phase(st) == PRT_DEAD) {
		prt_violation(&c->e, "slot %u: a get succeeded on incarnation %u, which is %s/%u",
			      s, g, prt_phase_names[prt_st_phase(st)], prt_st_gen(st));
		return;
	}
	if (prt_st_phase(st) == PRT_RELEASING)
		prt_inc(w, PRT_REVIVALS);
	atomic_long_inc(&d->gets);
	prt_hold(w);
	atomic_long_inc(&d->puts);
	prt_put(w, page, c, s, g);
}

/*
 * r7: a page-cache lookup: read the slot, try-get, re-check the slot. Only a
 * re-checked page is known to be the slot's (it cannot be freed while we
 * hold it), and only then do we look into it; any other reference is
 * simply put. A stale pointer is tried again later, as a lookup that raced
 * a truncation would.
 */
static void prt_alloc_get(struct prt_worker *w, struct prt_cache *c, unsigned int s, bool stale)
{
	struct prt_slot *slot;
	struct prt_data *d;
	struct page *page;
	bool ok, validated;
	unsigned int g;
	int st;

	if (stale) {
		unsigned int i = prt_rand(w) % PRT_NSTALE;

		page = w->stale[i].page;
		s = w->stale[i].slot;
		if (!page)
			return;
	}
	slot = &c->slots[s];
	prt_inc(w, PRT_OPS);
	rcu_read_lock();
	if (!stale) {
		/* Pairs with the release of prt_cache_refill(): the stamp is there. */
		page = smp_load_acquire(&slot->page);
		if (!page) {
			rcu_read_unlock();
			prt_cache_refill(w, c, s);
			return;
		}
		w->stale[w->stale_pos].page = page;
		w->stale[w->stale_pos].slot = s;
		w->stale_pos = (w->stale_pos + 1) % PRT_NSTALE;
	}
	ok = page_ref_add_unless_zero(page, 1);
	/* The re-check of a page-cache lookup, after the fully ordered get. */
	validated = ok && smp_load_acquire(&slot->page) == page;
	rcu_read_unlock();
	if (!ok) {
		prt_inc(w, PRT_FAILS);
		return;
	}
	prt_inc(w, PRT_GETS);
	if (PageBuddy(page)) {
		prt_violation(&c->e, "a get succeeded on page %#lx, which is free (buddy)",
			      page_to_pfn(page));
		return;
	}
	if (!prt_held_ok(w, page))
		return;
	if (!validated) {
		prt_put(w, page, NULL, 0, 0);
		return;
	}
	d = prt_data(page);
	if (!prt_stamped(page) || READ_ONCE(d->cache) != c || READ_ONCE(d->slot) != s) {
		prt_violation(&c->e, "slot %u holds page %#lx, whose stamp is not the slot's",
			      s, page_to_pfn(page));
		return;
	}
	g = READ_ONCE(d->gen);
	st = atomic_read(&slot->rec[g % PRT_RECS]);
	if (prt_st_gen(st) != g || prt_st_phase(st) == PRT_DEAD) {
		prt_violation(&c->e, "slot %u incarnation %u is in use, and %s/%u",
			      s, g, prt_phase_names[prt_st_phase(st)], prt_st_gen(st));
		return;
	}
	atomic_long_inc(&d->gets);
	prt_hold(w);
	atomic_long_inc(&d->puts);
	prt_put(w, page, c, s, g);
}

static void prt_cache_work(struct prt_worker *w)
{
	struct prt_cache *c = container_of(w->e, struct prt_cache, e);
	u32 r = prt_rand(w);
	unsigned int s = (r >> 8) % c->nslots;

	if (c->pool) {
		if (r % 16 < 2)
			prt_cache_release(w, c, s);
		else
			prt_pool_get(w, c, s);
		return;
	}
	if (r % 16 < 4)
		prt_cache_release(w, c, s);
	else
		prt_alloc_get(w, c, s, (r >> 4) % 4 == 0);
}

/* Wait a little for a count to settle: a transient reference may be in flight. */
static bool prt_count_is(struct page *page, int count)
{
	unsigned int i;

	for (i = 0; i < 100; i++) {
		if (prt_word(page) == count)
			return true;
		usleep_range(100, 200);
	}
	return false;
}

static void prt_cache_finish(struct prt_engine *e)
{
	struct prt_cache *c = container_of(e, struct prt_cache, e);
	unsigned int s, i, unfreed = 0;

	for (s = 0; s < c->nslots; s++) {
		struct prt_slot *slot = &c->slots[s];
		unsigned int g = atomic_read(&slot->gen);
		int st = atomic_read(&slot->rec[g % PRT_RECS]);
		struct page *page = slot->page;

		if (c->pool) {
			if (prt_st_phase(st) != PRT_LIVE)
				prt_violation(e,
					      "slot %u: incarnation %u ends %s: released, never freed",
					      s, g, prt_phase_names[prt_st_phase(st)]);
			else if (prt_word(page) != 1)
				prt_violation(e,
					      "slot %u: its page counts %#x at the end, expected 1",
					      s, prt_word(page));
			WRITE_ONCE(prt_data(page)->magic, 0);
			prt_free_reset(page);
			continue;
		}
		for (i = 0; i < PRT_RECS; i++)
			unfreed += prt_st_phase(atomic_read(&slot->rec[i])) == PRT_RELEASING;
		if (!page)
			continue;
		if (!prt_count_is(page, 1)) {
			prt_violation(e, "slot %u: its page counts %#x at the end, expected 1",
				      s, prt_word(page));
			prt_give_up(page);
			continue;
		}
		atomic_set(&slot->rec[g % PRT_RECS], prt_st(g, PRT_DEAD));
		WRITE_ONCE(prt_data(page)->magic, 0);
		prt_free(page, 0);
	}
	/* Released pages no harness put won: someone else holds or freed them. */
	if (unfreed)
		pr_info("scenario=%s engine=%s: %u released pages were not freed by the harness\n",
			prt_scenario_names[e->run->sc], prt_scenario_names[e->kind], unfreed);
	spin_lock(&prt_caches_lock);
	for (i = 0; i < ARRAY_SIZE(prt_caches); i++)
		if (prt_caches[i] == c)
			WRITE_ONCE(prt_caches[i], NULL);
	spin_unlock(&prt_caches_lock);
	kfree(c->slots);
	kfree(c);
}

static const struct prt_engine_ops prt_cache_ops = {
	.work = prt_cache_work,
	.finish = prt_cache_finish,
};

static struct prt_engine *prt_cache_create(const struct prt_engine *tmpl, bool pool, int npg)
{
	struct prt_cache *c = kzalloc(sizeof(*c), GFP_KERNEL);
	unsigned int s, i;

	if (!c)
		return NULL;
	c->e = *tmpl;
	c->e.ops = &prt_cache_ops;
	c->pool = pool;
	c->slots = kcalloc(npg, sizeof(*c->slots), GFP_KERNEL);
	if (!c->slots)
		goto fail;
	spin_lock(&prt_caches_lock);
	for (i = 0; i < ARRAY_SIZE(prt_caches); i++) {
		if (!prt_caches[i]) {
			WRITE_ONCE(prt_caches[i], c);
			break;
		}
	}
	spin_unlock(&prt_caches_lock);
	if (i == ARRAY_SIZE(prt_caches))
		goto fail;
	for (s = 0; s < npg; s++) {
		struct prt_slot *slot = &c->slots[s];
		struct page *page = prt_alloc(0);

		if (!page)
			break;
		for (i = 0; i < PRT_RECS; i++)
			atomic_set(&slot->rec[i], prt_st(0, PRT_DEAD));
		prt_stamp(c, page, s, 0);
		atomic_set(&slot->rec[0], prt_st(0, PRT_LIVE));
		slot->page = page;
		c->nslots++;
	}
	if (c->nslots == npg)
		return &c->e;
	prt_cache_finish(&c->e);
	return NULL;
fail:
	kfree(c->slots);
	kfree(c);
	return NULL;
}

/*
 * r2: put against put. Each round every worker holds a reference to each
 * page and puts it; exactly one put per page wins, and its winner sees every
 * put that came before it.
 */
struct prt_rounds {
	struct prt_engine e;
	int n;
	struct page **pages;
	atomic_t *wins;
	struct prt_barrier bar;
};

static void prt_rounds_reset(struct prt_rounds *r, int i)
{
	atomic_set(&r->wins[i], 0);
	atomic_long_set(&prt_data(r->pages[i])->puts, 0);
	set_page_count(r->pages[i], r->e.nworkers);
}

static void prt_rounds_work(struct prt_worker *w)
{
	struct prt_rounds *r = container_of(w->e, struct prt_rounds, e);
	int k, i;

	if (!prt_barrier(w, &r->bar))
		return;
	for (k = 0; k < r->n; k++) {
		struct page *page;
		long puts;

		i = (k + w->id) % r->n;
		page = r->pages[i];
		atomic_long_inc(&prt_data(page)->puts);
		prt_inc(w, PRT_OPS);
		if (!prt_last_put(w, page))
			continue;
		if (atomic_inc_return(&r->wins[i]) != 1) {
			prt_violation(&r->e, "page %d: a second last put won in one round", i);
			continue;
		}
		puts = atomic_long_read(&prt_data(page)->puts);
		if (puts != r->e.nworkers)
			prt_violation(&r->e, "page %d: the winner sees %ld of %d puts",
				      i, puts, r->e.nworkers);
		prt_inc(w, PRT_FREES);
	}
	if (!prt_barrier(w, &r->bar) || w->id)
		return;
	/* The others wait at the next round's barrier. */
	for (i = 0; i < r->n; i++) {
		int wins = atomic_read(&r->wins[i]);
		int v = prt_word(r->pages[i]);

		if (wins != 1)
			prt_violation(&r->e,
				      "page %d: %d last puts won a round, expected 1",
				      i, wins);
		if (!prt_frozen_word(v))
			prt_violation(&r->e,
				      "page %d reads %#x after its last put: not frozen",
				      i, v);
		prt_rounds_reset(r, i);
	}
}

static void prt_rounds_finish(struct prt_engine *e)
{
	struct prt_rounds *r = container_of(e, struct prt_rounds, e);
	int i;

	for (i = 0; i < r->n; i++)
		prt_free_reset(r->pages[i]);
	kfree(r->pages);
	kfree(r->wins);
	kfree(r);
}

static const struct prt_engine_ops prt_rounds_ops = {
	.work = prt_rounds_work,
	.finish = prt_rounds_finish,
};

static struct prt_engine *prt_rounds_create(const struct prt_engine *tmpl, int npg)
{
	struct prt_rounds *r = kzalloc(sizeof(*r), GFP_KERNEL);

	if (!r)
		return NULL;
	r->e = *tmpl;
	r->e.ops = &prt_rounds_ops;
	r->bar.n = tmpl->nworkers;
	r->pages = kcalloc(npg, sizeof(*r->pages), GFP_KERNEL);
	r->wins = kcalloc(npg, sizeof(*r->wins), GFP_KERNEL);
	if (!r->pages || !r->wins)
		goto fail;
	for (r->n = 0; r->n < npg; r->n++) {
		r->pages[r->n] = prt_alloc(0);
		if (!r->pages[r->n])
			goto fail;
		prt_rounds_reset(r, r->n);
	}
	return &r->e;
fail:
	prt_rounds_finish(&r->e);
	return NULL;
}

/*
 * r3 and r4: freezers against getters. Each page belongs to one freezer,
 * which holds its base references; the page's seq is odd while the freezer
 * holds it frozen. A get that succeeds and then finds seq odd succeeded on
 * a frozen page: had it come before the freeze, the freeze (which needs the
 * count to be exactly the base) would have failed. r4 keeps pages frozen
 * longer, unfreezes with a new base, and at checkpoints stops all threads to
 * check that every count is exactly its base.
 */
struct prt_fpage {
	struct page *page;
	unsigned int seq;
	int base;
	bool corrupt;		/* left alone after a violation */
} ____cacheline_aligned_in_smp;

struct prt_freeze {
	struct prt_engine e;
	bool unfreeze;		/* r4 */
	int n;
	int nfreezers;
	struct prt_fpage *pages;
	bool pause;
	atomic_t parked;
	unsigned long next_check;
};

static void prt_freeze_checkpoint(struct prt_worker *w, struct prt_freeze *f)
{
	unsigned int i;
	int p;

	WRITE_ONCE(f->pause, true);
	/* The pause, before the parked threads are counted. */
	smp_mb();
	for (i = 0; atomic_read(&f->parked) != f->e.nworkers - 1; i++) {
		if (prt_worker_stopping(w))
			goto out;
		prt_relax(i);
	}
	/* What the parked threads did, before the counts are read. */
	smp_mb();
	for (p = 0; p < f->n; p++) {
		struct prt_fpage *fp = &f->pages[p];
		int v = prt_word(fp->page);

		if (READ_ONCE(fp->corrupt) || v == fp->base)
			continue;
		prt_violation(&f->e, "page %d counts %#x with no thread holding it: expected %d",
			      p, v, fp->base);
		set_page_count(fp->page, fp->base);
	}
out:
	f->next_check = jiffies + msecs_to_jiffies(20);
	WRITE_ONCE(f->pause, false);
	for (i = 0; atomic_read(&f->parked); i++)
		prt_relax(i);
}

static void prt_freezer(struct prt_worker *w, struct prt_freeze *f)
{
	const struct prt_cfg *cfg = f->e.run->cfg;
	int per = DIV_ROUND_UP(f->n - (int)w->id, f->nfreezers);
	struct prt_fpage *fp;
	int v, base;

	if (w->id == 0 && time_after(jiffies, f->next_check)) {
		prt_freeze_checkpoint(w, f);
		return;
	}
	if (per <= 0)
		return;
	fp = &f->pages[w->id + (prt_rand(w) % per) * f->nfreezers];
	if (READ_ONCE(fp->corrupt))
		return;
	prt_inc(w, PRT_OPS);
	if (!page_ref_freeze(fp->page, fp->base))
		return;
	WRITE_ONCE(fp->seq, fp->seq + 1);
	if (f->unfreeze)
		prt_window(w, cfg->delay_ns);
	else if (prt_rand(w) % 16 == 0)
		prt_window(w, cfg->delay_ns / 8);
	v = prt_word(fp->page);
	if (!prt_frozen_word(v)) {
		/* page_ref_unfreeze() would BUG: leave the page alone. */
		prt_violation(&f->e, "page frozen by its freezer reads %#x: not frozen", v);
		WRITE_ONCE(fp->corrupt, true);
		return;
	}
	base = f->unfreeze ? 1 + prt_rand(w) % 3 : fp->base;
	WRITE_ONCE(fp->seq, fp->seq + 1);
	/* A release store: the even seq is visible to whoever gets the page. */
	page_ref_unfreeze(fp->page, base);
	fp->base = base;
}

static void prt_freeze_getter(struct prt_worker *w, struct prt_freeze *f)
{
	struct prt_fpage *fp = &f->pages[prt_rand(w) % f->n];

	if (READ_ONCE(fp->corrupt))
		return;
	prt_inc(w, PRT_OPS);
	if (!page_ref_add_unless_zero(fp->page, 1)) {
		prt_inc(w, PRT_FAILS);
		return;
	}
	prt_inc(w, PRT_GETS);
	if (READ_ONCE(fp->seq) & 1) {
		prt_violation(&f->e,
			      "a get succeeded on page %ld while its freezer holds it frozen",
			      (long)(fp - f->pages));
		WRITE_ONCE(fp->corrupt, true);
		return;
	}
	if (!prt_held_ok(w, fp->page)) {
		WRITE_ONCE(fp->corrupt, true);
		return;
	}
	prt_hold(w);
	prt_inc(w, PRT_OPS);
	if (page_ref_dec_and_test(fp->page)) {
		prt_violation(&f->e, "a getter's put won page %ld, whose freezer holds references",
			      (long)(fp - f->pages));
		WRITE_ONCE(fp->corrupt, true);
	}
}

static void prt_freeze_work(struct prt_worker *w)
{
	struct prt_freeze *f = container_of(w->e, struct prt_freeze, e);
	unsigned int i;

	if (w->id && READ_ONCE(f->pause)) {
		atomic_inc(&f->parked);
		for (i = 0; READ_ONCE(f->pause) && !prt_worker_stopping(w); i++)
			prt_relax(i);
		atomic_dec(&f->parked);
		return;
	}
	if (w->id < f->nfreezers)
		prt_freezer(w, f);
	else
		prt_freeze_getter(w, f);
}

static void prt_freeze_finish(struct prt_engine *e)
{
	struct prt_freeze *f = container_of(e, struct prt_freeze, e);
	int p;

	for (p = 0; p < f->n; p++) {
		struct prt_fpage *fp = &f->pages[p];
		int v;

		if (!fp->page)
			continue;
		v = prt_word(fp->page);
		if (!fp->corrupt && v != fp->base)
			prt_violation(e,
				      "page %d counts %#x at the end: expected %d",
				      p, v, fp->base);
		prt_free_reset(fp->page);
	}
	kfree(f->pages);
	kfree(f);
}

static const struct prt_engine_ops prt_freeze_ops = {
	.work = prt_freeze_work,
	.finish = prt_freeze_finish,
};

static struct prt_engine *prt_freeze_create(const struct prt_engine *tmpl, bool unfreeze,
					    int npg)
{
	struct prt_freeze *f = kzalloc(sizeof(*f), GFP_KERNEL);
	int p;

	if (!f)
		return NULL;
	f->e = *tmpl;
	f->e.ops = &prt_freeze_ops;
	f->unfreeze = unfreeze;
	f->nfreezers = max(1, tmpl->nworkers / 4);
	f->next_check = jiffies;
	f->pages = kcalloc(npg, sizeof(*f->pages), GFP_KERNEL);
	if (!f->pages)
		goto fail;
	f->n = npg;
	for (p = 0; p < npg; p++) {
		f->pages[p].page = prt_alloc(0);
		if (!f->pages[p].page)
			goto fail;
		f->pages[p].base = 1;
	}
	return &f->e;
fail:
	prt_freeze_finish(&f->e);
	return NULL;
}

/*
 * r5: pages nobody owns. Owners make pages ownerless with
 * page_ref_make_ownerless() and publish them; allocate and free order-0
 * pages, whose pointers getters keep and try long after; and allocate
 * non-compound order-2 blocks and publish their tail pages while they hold
 * them. A get on a published ownerless or tail page must fail; a get on a
 * stale pointer succeeds only if the page was reallocated, never while it
 * is in the buddy allocator.
 */
#define PRT_RING	256

/*
 * Pointers to pages that were the harness's and may be anyone's by now, as
 * a lookup that raced a free keeps them (r5, r7b): pushed in turn, read at
 * random.
 */
struct prt_ring {
	atomic_t pos;
	struct page *page[PRT_RING];
};

static void prt_ring_push(struct prt_ring *r, struct page *page)
{
	WRITE_ONCE(r->page[(unsigned int)atomic_inc_return(&r->pos) % PRT_RING], page);
}

static struct page *prt_ring_pick(struct prt_worker *w, struct prt_ring *r)
{
	return READ_ONCE(r->page[prt_rand(w) % PRT_RING]);
}

struct prt_owner {
	struct page *own;
	struct prt_pub ownerless;
	struct prt_pub tails[3];
};

struct prt_nobody {
	struct prt_engine e;
	int nowners;
	struct prt_owner *owners;
	struct prt_ring ring;
};

static void prt_nobody_owner(struct prt_worker *w, struct prt_nobody *n)
{
	struct prt_owner *o = &n->owners[w->id];
	unsigned int delay = n->e.run->cfg->delay_ns;
	struct page *page;
	int t, v;

	prt_inc(w, PRT_OPS);
	switch (prt_rand(w) % 3) {
	case 0:
		/* Nobody holds o->own: no getter can reach it while unpublished. */
		page_ref_make_ownerless(o->own);
		v = prt_word(o->own);
		if (!prt_frozen_word(v))
			prt_violation(&n->e, "page_ref_make_ownerless() left %#x: not frozen", v);
		prt_publish(&o->ownerless, o->own);
		prt_window(w, delay);
		prt_unpublish(&o->ownerless);
		/* The allocator hands it out again. */
		set_page_count(o->own, 1);
		break;
	case 1:
		page = prt_alloc(0);
		if (!page)
			break;
		prt_hold(w);
		prt_free(page, 0);
		prt_ring_push(&n->ring, page);
		break;
	default:
		page = prt_alloc(2);
		if (!page)
			break;
		for (t = 0; t < 3; t++)
			prt_publish(&o->tails[t], page + 1 + t);
		prt_window(w, delay);
		for (t = 0; t < 3; t++)
			prt_unpublish(&o->tails[t]);
		prt_free(page, 2);
		for (t = 0; t < 4; t++)
			prt_ring_push(&n->ring, page + t);
		break;
	}
}

/* A get on a published page nobody owns: it must fail. */
static void prt_nobody_try(struct prt_worker *w, struct prt_nobody *n, struct prt_pub *p,
			   const char *what)
{
	struct page *page = prt_pub_enter(p);

	if (page) {
		prt_inc(w, PRT_OPS);
		if (page_ref_add_unless_zero(page, 1)) {
			prt_inc(w, PRT_GETS);
			prt_violation(&n->e, "a get succeeded on page %#lx, %s",
				      page_to_pfn(page), what);
			/* Give it back; whatever the put claims stays the owner's. */
			page_ref_dec_and_test(page);
		} else {
			prt_inc(w, PRT_FAILS);
		}
	}
	prt_pub_leave(p);
}

static void prt_nobody_stale(struct prt_worker *w, struct prt_nobody *n)
{
	struct page *page = prt_ring_pick(w, &n->ring);

	if (!page)
		return;
	prt_inc(w, PRT_OPS);
	if (!page_ref_add_unless_zero(page, 1)) {
		prt_inc(w, PRT_FAILS);
		return;
	}
	prt_inc(w, PRT_GETS);
	/* Holding it, nobody can free it: if it is in the buddy, it was then. */
	if (PageBuddy(page)) {
		prt_violation(&n->e, "a get succeeded on page %#lx, which is free (buddy)",
			      page_to_pfn(page));
		return;
	}
	if (!prt_held_ok(w, page))
		return;
	prt_put(w, page, NULL, 0, 0);
}

static void prt_nobody_work(struct prt_worker *w)
{
	struct prt_nobody *n = container_of(w->e, struct prt_nobody, e);
	u32 r = prt_rand(w);
	struct prt_owner *o;

	if (w->id < n->nowners) {
		prt_nobody_owner(w, n);
		return;
	}
	o = &n->owners[(r >> 8) % n->nowners];
	switch (r % 4) {
	case 0:
		prt_nobody_try(w, n, &o->ownerless,
			       "which nobody owns (page_ref_make_ownerless())");
		break;
	case 1:
		prt_nobody_try(w, n, &o->tails[(r >> 4) % 3],
			       "a tail of a non-compound order-2 allocation");
		break;
	default:
		prt_nobody_stale(w, n);
		break;
	}
}

static void prt_nobody_finish(struct prt_engine *e)
{
	struct prt_nobody *n = container_of(e, struct prt_nobody, e);
	int i;

	for (i = 0; n->owners && i < n->nowners; i++)
		if (n->owners[i].own)
			prt_free_reset(n->owners[i].own);
	kfree(n->owners);
	kfree(n);
}

static const struct prt_engine_ops prt_nobody_ops = {
	.work = prt_nobody_work,
	.finish = prt_nobody_finish,
};

static struct prt_engine *prt_nobody_create(const struct prt_engine *tmpl)
{
	struct prt_nobody *n = kzalloc(sizeof(*n), GFP_KERNEL);
	int i;

	if (!n)
		return NULL;
	n->e = *tmpl;
	n->e.ops = &prt_nobody_ops;
	n->nowners = max(1, tmpl->nworkers / 3);
	n->owners = kcalloc(n->nowners, sizeof(*n->owners), GFP_KERNEL);
	if (!n->owners)
		goto fail;
	for (i = 0; i < n->nowners; i++) {
		n->owners[i].own = prt_alloc(0);
		if (!n->owners[i].own)
			goto fail;
	}
	return &n->e;
fail:
	prt_nobody_finish(&n->e);
	return NULL;
}

/*
 * r6: a flood of failed gets on frozen pages, in phases. The first worker
 * freezes the pages; all flood them with adds of PRT_FLOOD_NR (as GUP-fast
 * adds for a PUD-mapped folio) and of 1, enough to carry into bit 31 three
 * times over were it not for the overflow guard; then the first worker
 * checks each quiet page, unfreezes it and checks that it counts exactly 1.
 */
#define PRT_FLOOD_NR	BIT(18)
#define PRT_FLOOD_ADDS	(3 * ((1U << 31) / PRT_FLOOD_NR))
#define PRT_FLOOD_PAGES	4

struct prt_flood {
	struct prt_engine e;
	int n;
	struct page *pages[PRT_FLOOD_PAGES];
	atomic_t budget[PRT_FLOOD_PAGES];
	struct prt_barrier bar;
};

/* With the guard, a frozen word's leftovers stay below this. */
static unsigned int prt_flood_bound(struct prt_flood *f)
{
	return PAGE_REF_GUARD + f->e.nworkers * PRT_FLOOD_NR;
}

static void prt_flood_prepare(struct prt_flood *f)
{
	int i;

	for (i = 0; i < f->n; i++) {
		atomic_set(&f->budget[i], PRT_FLOOD_ADDS);
		if (!page_ref_freeze(f->pages[i], 1)) {
			prt_violation(&f->e, "page %d counts %#x, not 1: it cannot be frozen",
				      i, prt_word(f->pages[i]));
			set_page_count(f->pages[i], 1);
			page_ref_freeze(f->pages[i], 1);
		}
	}
}

static void prt_flood_check(struct prt_flood *f)
{
	int i, v;

	for (i = 0; i < f->n; i++) {
		struct page *page = f->pages[i];

		v = prt_word(page);
		if (IS_ENABLED(CONFIG_PAGE_REF_FROZEN_BIT) && v < 0 &&
		    (v & ~PAGE_REF_FROZEN) >= PAGE_REF_GUARD)
			prt_violation(&f->e,
				      "quiet frozen page %d keeps leftovers %#x past the guard",
				      i, v & ~PAGE_REF_FROZEN);
		/* Leave a leftover for the unfreeze to drop, whatever the flood left. */
		if (page_ref_add_unless_zero(page, 1))
			prt_violation(&f->e, "a get succeeded on frozen page %d", i);
		v = prt_word(page);
		if (!prt_frozen_word(v)) {
			prt_violation(&f->e, "frozen page %d reads %#x: bit 31 is lost", i, v);
			set_page_count(page, 1);
			continue;
		}
		page_ref_unfreeze(page, 1);
		v = prt_word(page);
		if (v != 1) {
			prt_violation(&f->e, "page %d counts %#x after unfreeze(1)", i, v);
			set_page_count(page, 1);
		}
	}
}

static void prt_flood_add(struct prt_worker *w, struct prt_flood *f, int i, int nr)
{
	struct page *page = f->pages[i];
	int v;

	prt_inc(w, PRT_OPS);
	if (page_ref_add_unless_zero(page, nr)) {
		prt_inc(w, PRT_GETS);
		prt_violation(&f->e, "a get of %d succeeded on frozen page %d", nr, i);
		return;
	}
	prt_inc(w, PRT_FAILS);
	v = prt_word(page);
	if (!prt_frozen_word(v))
		prt_violation(&f->e, "frozen page %d reads %#x after a failed get: bit 31 is lost",
			      i, v);
	else if (IS_ENABLED(CONFIG_PAGE_REF_FROZEN_BIT) &&
		 (v & ~PAGE_REF_FROZEN) > prt_flood_bound(f))
		prt_violation(&f->e,
			      "frozen page %d has leftovers %#x: the guard did not reset them",
			      i, v & ~PAGE_REF_FROZEN);
}

static void prt_flood_work(struct prt_worker *w)
{
	struct prt_flood *f = container_of(w->e, struct prt_flood, e);
	unsigned int k = 0;
	int i, left, busy;

	if (w->id == 0)
		prt_flood_prepare(f);
	if (!prt_barrier(w, &f->bar))
		return;
	do {
		busy = 0;
		for (i = 0; i < f->n; i++) {
			left = atomic_dec_return(&f->budget[(i + w->id) % f->n]);
			if (left < 0)
				continue;
			busy = 1;
			prt_flood_add(w, f, (i + w->id) % f->n, left % 8 ? PRT_FLOOD_NR : 1);
		}
		if (++k % 256 == 0) {
			if (prt_worker_stopping(w))
				break;
			cond_resched();
		}
	} while (busy);
	if (!prt_barrier(w, &f->bar))
		return;
	/* The others wait at the next phase's barrier. */
	if (w->id == 0)
		prt_flood_check(f);
}

static void prt_flood_finish(struct prt_engine *e)
{
	struct prt_flood *f = container_of(e, struct prt_flood, e);
	int i;

	for (i = 0; i < f->n; i++)
		prt_free_reset(f->pages[i]);
	kfree(f);
}

static const struct prt_engine_ops prt_flood_ops = {
	.work = prt_flood_work,
	.finish = prt_flood_finish,
};

static struct prt_engine *prt_flood_create(const struct prt_engine *tmpl, int npg)
{
	struct prt_flood *f = kzalloc(sizeof(*f), GFP_KERNEL);

	if (!f)
		return NULL;
	f->e = *tmpl;
	f->e.ops = &prt_flood_ops;
	f->bar.n = tmpl->nworkers;
	for (f->n = 0; f->n < min(npg, PRT_FLOOD_PAGES); f->n++) {
		f->pages[f->n] = prt_alloc(0);
		if (!f->pages[f->n]) {
			prt_flood_finish(&f->e);
			return NULL;
		}
	}
	return &f->e;
}

/* Running a scenario: engines, workers, the stats, the verdict. */

/*
 * r7b: stale claims on the kernel's raw free paths. Owners allocate and free
 * through the functions the kernel's own users call: compound order-2 pages
 * freed with __free_pages(), non-compound ones with free_pages(), page_frag
 * fragments with page_frag_free(), and order-2 blocks split into four pages
 * that are put one by one (folio_put()). Getters try-get the pages behind the
 * stale pointers of a ring, as lookups racing a free would, put what they
 * got, and then reallocate and split a block themselves, so that a block a
 * revival freed is soon on its way back to four owners. With the test
 * series' window open, the puts of this engine's threads that reach zero
 * wait between their decrement and their claim (one in inject of them):
 * long in a raw free (the put of __free_pages(), free_pages() and
 * page_frag_free() before patch 5 of the series, which has no zero to wait
 * on), short in a folio_put(). A stale claim of __free_pages() that wins a
 * piece's zero frees 1 << 2 pages, some of them held: the allocator's check
 * reports "Bad page state" (a taint this engine watches), or the pages reach
 * the free lists while held (a getter or an owner sees a free page it holds).
 */
#define PRT_R7B_ORDER	2
#define PRT_R7B_LONG_US	100

struct prt_r7b {
	struct prt_engine e;
	int tainted;			/* TAINT_BAD_PAGE seen (or before the run) */
	bool window;			/* the test series' window is ours */
	struct prt_ring ring;
	struct page_frag_cache *frags;	/* one per worker */
};

static void prt_r7b_check_taint(struct prt_r7b *b)
{
	if (!READ_ONCE(b->tainted) && test_taint(TAINT_BAD_PAGE) && !xchg(&b->tainted, 1))
		prt_violation(&b->e, "Bad page state: a free took pages that others hold");
}

/* A page this thread holds: it must count and must not be free. */
static bool prt_r7b_held_ok(struct prt_worker *w, struct page *page)
{
	if (PageBuddy(page)) {
		prt_violation(w->e, "page %#lx, which we hold, is free (buddy)",
			      page_to_pfn(page));
		return false;
	}
	return prt_held_ok(w, page);
}

/*
 * The top-level puts and frees of this engine may wait in the window (none
 * runs under a lock); a put nested in them, or in an allocation's reclaim,
 * may not: prt_r7b_window() lets the first put that reaches zero wait, once.
 */
#define prt_r7b_call(w, long_window, call)		\
	do {						\
		struct prt_worker *__w = (w);		\
							\
		__w->wait_long = long_window;		\
		__w->may_wait = true;			\
		call;					\
		__w->may_wait = false;			\
	} while (0)

static void prt_r7b_put(struct prt_worker *w, struct page *page)
{
	prt_r7b_call(w, false, put_page(page));
}

/* An order-2 block in four pieces, each with its owner, put one by one. */
static void prt_r7b_split(struct prt_worker *w, struct prt_r7b *b)
{
	struct page *page = prt_alloc(PRT_R7B_ORDER);
	int i;

	if (!page)
		return;
	split_page(page, PRT_R7B_ORDER);
	for (i = 0; i < 1 << PRT_R7B_ORDER; i++)
		prt_ring_push(&b->ring, page + i);
	prt_hold(w);
	for (i = 0; i < 1 << PRT_R7B_ORDER; i++) {
		prt_inc(w, PRT_OPS);
		if (prt_r7b_held_ok(w, page + i)) {
			atomic_long_dec(&prt_held);
			prt_r7b_put(w, page + i);
		} else {
			prt_give_up(page + i);
		}
	}
}

static void prt_r7b_owner(struct prt_worker *w, struct prt_r7b *b)
{
	struct page_frag_cache *nc = &b->frags[w->id];
	struct page *page;
	unsigned long addr;
	void *frag;

	prt_inc(w, PRT_OPS);
	switch (prt_rand(w) % 4) {
	case 0:
		page = alloc_pages(GFP_KERNEL | __GFP_COMP | __GFP_NOWARN, PRT_R7B_ORDER);
		if (!page)
			break;
		prt_ring_push(&b->ring, page);
		prt_hold(w);
		prt_r7b_call(w, true, __free_pages(page, PRT_R7B_ORDER));
		prt_inc(w, PRT_FREES);
		break;
	case 1:
		addr = __get_free_pages(GFP_KERNEL | __GFP_NOWARN, PRT_R7B_ORDER);
		if (!addr)
			break;
		prt_ring_push(&b->ring, virt_to_page((void *)addr));
		prt_hold(w);
		prt_r7b_call(w, true, free_pages(addr, PRT_R7B_ORDER));
		prt_inc(w, PRT_FREES);
		break;
	case 2:
		frag = page_frag_alloc(nc, 256, GFP_KERNEL | __GFP_NOWARN);
		if (!frag)
			break;
		prt_ring_push(&b->ring, virt_to_head_page(frag));
		prt_hold(w);
		prt_r7b_call(w, true, page_frag_free(frag));
		break;
	default:
		prt_r7b_split(w, b);
		break;
	}
	prt_r7b_check_taint(b);
}

static void prt_r7b_getter(struct prt_worker *w, struct prt_r7b *b)
{
	struct page *page = prt_ring_pick(w, &b->ring);

	if (!page)
		return;
	prt_inc(w, PRT_OPS);
	if (!get_page_unless_zero(page)) {
		prt_inc(w, PRT_FAILS);
		return;
	}
	prt_inc(w, PRT_GETS);
	if (!prt_r7b_held_ok(w, page))
		return;
	prt_hold(w);
	/* What the page is now decides how it is freed (R7): folio_put(). */
	prt_r7b_put(w, page);
	prt_r7b_split(w, b);
}

static void prt_r7b_work(struct prt_worker *w)
{
	struct prt_r7b *b = container_of(w->e, struct prt_r7b, e);

	if (w->id % 2)
		prt_r7b_getter(w, b);
	else
		prt_r7b_owner(w, b);
}

#ifdef CONFIG_PAGE_REF_TEST_VARIANTS
/*
 * The test series' window: every put that reaches zero calls this between
 * its decrement and its claim. Only this engine's threads wait, and only
 * where they may sleep: a put of theirs never runs in interrupt context.
 */
static void prt_r7b_window(struct page *page, void *data)
{
	struct prt_r7b *b = data;
	const struct prt_cfg *cfg = b->e.run->cfg;
	struct prt_worker *w = NULL;
	int i;

	for (i = 0; i < b->e.nworkers; i++)
		if (READ_ONCE(b->e.workers[i].task) == current)
			w = &b->e.workers[i];
	if (!w || !w->may_wait || !in_task())
		return;
	w->may_wait = false;
	if (!cfg->inject || prt_rand(w) % cfg->inject)
		return;
	prt_inc(w, PRT_INJECTED);
	if (w->wait_long)
		usleep_range(PRT_R7B_LONG_US, 2 * PRT_R7B_LONG_US);
	else
		prt_window(w, cfg->delay_ns);
}
#endif

static void prt_r7b_finish(struct prt_engine *e)
{
	struct prt_r7b *b = container_of(e, struct prt_r7b, e);
	int i;

#ifdef CONFIG_PAGE_REF_TEST_VARIANTS
	if (b->window)
		page_ref_test_window_close();
#endif
	prt_r7b_check_taint(b);
	for (i = 0; b->frags && i < e->nworkers; i++)
		page_frag_cache_drain(&b->frags[i]);
	kfree(b->frags);
	kfree(b);
}

static const struct prt_engine_ops prt_r7b_ops = {
	.work = prt_r7b_work,
	.finish = prt_r7b_finish,
};

static struct prt_engine *prt_r7b_create(const struct prt_engine *tmpl)
{
	struct prt_r7b *b = kzalloc(sizeof(*b), GFP_KERNEL);
	int i;

	if (!b)
		return NULL;
	b->e = *tmpl;
	b->e.ops = &prt_r7b_ops;
	b->tainted = test_taint(TAINT_BAD_PAGE);
	b->frags = kcalloc(tmpl->nworkers, sizeof(*b->frags), GFP_KERNEL);
	if (!b->frags) {
		kfree(b);
		return NULL;
	}
	for (i = 0; i < tmpl->nworkers; i++)
		page_frag_cache_init(&b->frags[i]);
#ifdef CONFIG_PAGE_REF_TEST_VARIANTS
	b->window = !page_ref_test_window_open(prt_r7b_window, b);
#endif
	return &b->e;
}

/*
 * Free pages, counting those parked on the per-CPU lists, which
 * NR_FREE_PAGES leaves out: the harness holds nothing before and after a
 * run, so the two counts differ only by what the rest of the kernel did.
 */
static long prt_free_pages(void)
{
	long free = 0;
	int nid, z, cpu;

	for_each_online_node(nid) {
		for (z = 0; z < MAX_NR_ZONES; z++) {
			struct zone *zone = &NODE_DATA(nid)->node_zones[z];

			if (!populated_zone(zone))
				continue;
			free += zone_page_state(zone, NR_FREE_PAGES);
			for_each_online_cpu(cpu)
				free += READ_ONCE(per_cpu_ptr(zone->per_cpu_pageset, cpu)->count);
		}
	}
	return free;
}

static const char *prt_impl_name(void)
{
#ifdef CONFIG_PAGE_REF_EXTERN
	if (static_key_enabled(&page_ref_extern_key))
		return "rust";
#endif
	return "c";
}

static const char *prt_variant_name(void)
{
#ifdef CONFIG_PAGE_REF_TEST_VARIANTS
	int v = READ_ONCE(page_ref_test_variant);

	if (v >= 0 && v < NR_PAGE_REF_TEST_VARIANTS)
		return page_ref_test_variant_names[v];
	return "unknown";
#else
	return "correct";
#endif
}

static const char *prt_scheme_name(void)
{
	return IS_ENABLED(CONFIG_PAGE_REF_FROZEN_BIT) ? "frozen" : "classic";
}

struct prt_saved {
	int variant;
	bool rust;
};

/* Run the implementation and variant of @cfg; remember what ran before. */
static void prt_select(const struct prt_cfg *cfg, struct prt_saved *saved)
{
#ifdef CONFIG_PAGE_REF_TEST_VARIANTS
	saved->variant = READ_ONCE(page_ref_test_variant);
	if (cfg->variant >= 0)
		WRITE_ONCE(page_ref_test_variant, cfg->variant);
#endif
#ifdef CONFIG_PAGE_REF_EXTERN
	saved->rust = static_key_enabled(&page_ref_extern_key);
	if (cfg->impl == PRT_IMPL_RUST)
		static_branch_enable(&page_ref_extern_key);
	else if (cfg->impl == PRT_IMPL_C)
		static_branch_disable(&page_ref_extern_key);
#endif
}

static void prt_restore(const struct prt_saved *saved)
{
#ifdef CONFIG_PAGE_REF_TEST_VARIANTS
	WRITE_ONCE(page_ref_test_variant, saved->variant);
#endif
#ifdef CONFIG_PAGE_REF_EXTERN
	if (saved->rust)
		static_branch_enable(&page_ref_extern_key);
	else
		static_branch_disable(&page_ref_extern_key);
#endif
}

/* An engine of @kind for @run, with its pages and @nworkers workers to start. */
static struct prt_engine *prt_engine_create(struct prt_run *run, enum prt_scenario kind,
					    int npg, int nworkers)
{
	struct prt_engine tmpl = { .run = run, .kind = kind, .nworkers = nworkers };
	struct prt_engine *e;

	tmpl.workers = kcalloc(nworkers, sizeof(*tmpl.workers), GFP_KERNEL);
	if (!tmpl.workers)
		return NULL;
	switch (kind) {
	case PRT_R1:
		e = prt_cache_create(&tmpl, true, npg);
		break;
	case PRT_R2:
		e = prt_rounds_create(&tmpl, npg);
		break;
	case PRT_R3:
		e = prt_freeze_create(&tmpl, false, npg);
		break;
	case PRT_R4:
		e = prt_freeze_create(&tmpl, true, npg);
		break;
	case PRT_R5:
		e = prt_nobody_create(&tmpl);
		break;
	case PRT_R6:
		e = prt_flood_create(&tmpl, npg);
		break;
	case PRT_R7B:
		e = prt_r7b_create(&tmpl);
		break;
	default:
		e = prt_cache_create(&tmpl, false, npg);
		break;
	}
	if (!e)
		kfree(tmpl.workers);
	return e;
}

static int prt_worker_fn(void *arg)
{
	struct prt_worker *w = arg;

	while (!prt_worker_stopping(w)) {
		w->e->ops->work(w);
		cond_resched();
	}
	return 0;
}

static int prt_start_workers(struct prt_engine *e, unsigned int first)
{
	unsigned int ncpus = num_online_cpus();
	int i;

	for (i = 0; i < e->nworkers; i++) {
		struct prt_worker *w = &e->workers[i];
		struct task_struct *t;

		w->e = e;
		w->id = i;
		w->rnd = get_random_u32() | 1;
		t = kthread_create(prt_worker_fn, w, "prt_%s/%d", prt_scenario_names[e->kind], i);
		if (IS_ERR(t))
			return PTR_ERR(t);
		get_task_struct(t);
		w->task = t;
		kthread_bind(t, cpumask_nth((first + i) % ncpus, cpu_online_mask));
		wake_up_process(t);
	}
	return 0;
}

static void prt_stop_workers(struct prt_engine *e)
{
	int i;

	for (i = 0; i < e->nworkers; i++) {
		if (!e->workers[i].task)
			continue;
		kthread_stop(e->workers[i].task);
		put_task_struct(e->workers[i].task);
		e->workers[i].task = NULL;
	}
}

static void prt_sum(struct prt_run *run, unsigned long *st)
{
	int i, j, s;

	memset(st, 0, sizeof(unsigned long) * PRT_NR_STATS);
	for (i = 0; i < run->nengines; i++)
		for (j = 0; j < run->engines[i]->nworkers; j++)
			for (s = 0; s < PRT_NR_STATS; s++)
				st[s] += READ_ONCE(run->engines[i]->workers[j].st[s]);
}

static void prt_print_stats(struct prt_run *run, const char *what)
{
	unsigned long st[PRT_NR_STATS];
	char buf[512];
	int s, len = 0;

	prt_sum(run, st);
	for (s = 0; s < PRT_NR_STATS; s++)
		len += scnprintf(buf + len, sizeof(buf) - len, " %s=%lu", prt_stat_names[s], st[s]);
	pr_info("%s scenario=%s t=%ums%s violations=%d\n", what, prt_scenario_names[run->sc],
		jiffies_to_msecs(jiffies - run->start), buf, atomic_read(&run->violations));
}

static void prt_verdict(const struct prt_run *run, const struct prt_result *res)
{
	char first[40] = "";

	if (res->violations)
		snprintf(first, sizeof(first), " first_violation_ms=%ld", res->first_ms);
	pr_info("verdict scenario=%s impl=%s scheme=%s variant=%s ops=%lu violations=%d%s%s result=%s\n",
		prt_scenario_names[run->sc], run->impl, prt_scheme_name(),
		run->variant, res->st[PRT_OPS], res->violations, first,
		res->complete ? "" : " stopped=early", res->violations ? "FAIL" : "PASS");
}

static int prt_threads(const struct prt_cfg *cfg)
{
	return cfg->nthreads ? cfg->nthreads : max_t(int, 2, num_online_cpus());
}

/*
 * Run scenario @sc of @cfg to its end, print its verdict and fill @res.
 * The caller holds prt_lock.
 */
static int prt_run_scenario(const struct prt_cfg *cfg, enum prt_scenario sc,
			    struct prt_result *res)
{
	int nthr = prt_threads(cfg), per, i, ret = 0;
	long free_before = prt_free_pages();
	unsigned long deadline, next_stat;
	struct prt_saved saved;
	struct prt_run *run;

	run = kzalloc_obj(*run, GFP_KERNEL);
	if (!run)
		return -ENOMEM;
	run->cfg = cfg;
	run->sc = sc;
	atomic_long_set(&run->first_ms, -1);
	/* mixed: every engine at once, each with half the threads (at least 2). */
	per = sc == PRT_MIXED ? max(2, nthr / 2) : nthr;
	for (i = 0; i < PRT_NR_ENGINES; i++) {
		struct prt_engine *e;

		if (sc != PRT_MIXED && i != sc)
			continue;
		e = prt_engine_create(run, i, cfg->npages, per);
		if (!e) {
			ret = -ENOMEM;
			goto out;
		}
		run->engines[run->nengines++] = e;
	}
	prt_select(cfg, &saved);
	run->impl = prt_impl_name();
	run->variant = prt_variant_name();
	run->start = jiffies;
	for (i = 0; i < run->nengines && !ret; i++)
		ret = prt_start_workers(run->engines[i], i * per);
	deadline = run->start + msecs_to_jiffies(cfg->duration_ms);
	next_stat = run->start + cfg->stat_interval * HZ;
	while (!ret && !prt_stopping(run) && time_before(jiffies, deadline)) {
		msleep_interruptible(min(50U, jiffies_to_msecs(deadline - jiffies) + 1));
		if (cfg->stat_interval && time_after_eq(jiffies, next_stat)) {
			prt_print_stats(run, "stats");
			next_stat += cfg->stat_interval * HZ;
		}
	}
	res->complete = !ret && !READ_ONCE(prt_abort) &&
			(!time_before(jiffies, deadline) || READ_ONCE(run->stop));
	WRITE_ONCE(run->stop, true);
	for (i = 0; i < run->nengines; i++)
		prt_stop_workers(run->engines[i]);
	prt_restore(&saved);
out:
	if (!ret)
		prt_print_stats(run, "final");
	prt_sum(run, res->st);
	for (i = 0; i < run->nengines; i++) {
		struct prt_engine *e = run->engines[i];
		struct prt_worker *workers = e->workers;

		e->ops->finish(e);
		kfree(workers);
	}
	res->violations = atomic_read(&run->violations);
	res->first_ms = atomic_long_read(&run->first_ms);
	if (!ret) {
		pr_info("pages scenario=%s held=%ld leaked=%ld free_before=%ld free_after=%ld\n",
			prt_scenario_names[sc], atomic_long_read(&prt_held),
			atomic_long_read(&prt_leaked), free_before, prt_free_pages());
		prt_verdict(run, res);
	} else {
		pr_err("scenario=%s could not run: error %d\n", prt_scenario_names[sc], ret);
	}
	kfree(run);
	return ret;
}

/* Every scenario of @cfg in turn; the caller holds prt_lock. */
static int prt_run_all(const struct prt_cfg *cfg, int *violations)
{
	long before = prt_free_pages(), after;
	struct prt_result res;
	int sc, n = 0, ret = 0;

	*violations = 0;
	for (sc = 0; sc < PRT_NR_SCENARIOS && !READ_ONCE(prt_abort); sc++) {
		if (!(cfg->scenarios & BIT(sc)))
			continue;
		memset(&res, 0, sizeof(res));
		ret = prt_run_scenario(cfg, sc, &res);
		if (ret)
			break;
		*violations += res.violations;
		n++;
	}
	after = prt_free_pages();
	pr_info("end of test: %s scenarios=%d violations=%d pages_held=%ld pages_leaked=%ld free_pages_before=%ld free_pages_after=%ld\n",
		ret || *violations || atomic_long_read(&prt_held) ? "FAILURE" : "SUCCESS",
		n, *violations, atomic_long_read(&prt_held), atomic_long_read(&prt_leaked),
		before, after);
	return ret;
}

/* The run started at load, in a thread of its own. */
static struct prt_cfg prt_load_cfg;
static struct task_struct *prt_ctl;
static DECLARE_COMPLETION(prt_ctl_done);

static int prt_ctl_fn(void *arg)
{
	const struct prt_cfg *cfg = arg;
	int violations;

	mutex_lock(&prt_lock);
	prt_run_all(cfg, &violations);
	mutex_unlock(&prt_lock);
	complete(&prt_ctl_done);
	return 0;
}

static int prt_start(const struct prt_cfg *cfg)
{
	struct task_struct *t;

	reinit_completion(&prt_ctl_done);
	t = kthread_create(prt_ctl_fn, (void *)cfg, "page_ref_torture");
	if (IS_ERR(t))
		return PTR_ERR(t);
	get_task_struct(t);
	prt_ctl = t;
	wake_up_process(t);
	return 0;
}

/* End the run started at load, if any, and wait until its pages are freed. */
static void prt_stop(void)
{
	if (!prt_ctl)
		return;
	if (!completion_done(&prt_ctl_done))
		pr_info("stopping the run early, holding %ld pages\n", atomic_long_read(&prt_held));
	WRITE_ONCE(prt_abort, true);
	kthread_stop(prt_ctl);
	put_task_struct(prt_ctl);
	prt_ctl = NULL;
	WRITE_ONCE(prt_abort, false);
}

/*
 * Parameters: each checked at load; a bad one fails the load with -EINVAL
 * and a message, written to @why, that starts with the parameter's name.
 */
#define PRT_WHY_LEN	160

static __printf(2, 3) int prt_bad(char *why, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vsnprintf(why, PRT_WHY_LEN, fmt, args);
	va_end(args);
	return -EINVAL;
}

static int prt_parse_scenarios(const char *list, unsigned long *mask, char *why)
{
	char *copy, *p, *name;
	int sc, ret = 0;

	*mask = 0;
	copy = kstrdup(list, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	p = strim(copy);
	while ((name = strsep(&p, ",")) && !ret) {
		name = strim(name);
		if (!*name)
			continue;
		if (!strcmp(name, "all")) {
			*mask |= BIT(PRT_NR_SCENARIOS) - 1;
			continue;
		}
		sc = match_string(prt_scenario_names, PRT_NR_SCENARIOS, name);
		if (sc < 0)
			ret = prt_bad(why,
				      "scenarios=%s: no scenario '%s' (have r1 r2 r3 r4 r5 r6 r7 mixed all)",
				      list, name);
		else
			*mask |= BIT(sc);
	}
	kfree(copy);
	return ret;
}

static int prt_check_range(const char *name, int value, int min, int max, char *why)
{
	if (value >= min && value <= max)
		return 0;
	return prt_bad(why, "%s=%d: out of range %d..%d", name, value, min, max);
}

static int prt_parse_params(struct prt_cfg *cfg, char *why)
{
	int ret;

	ret = prt_parse_scenarios(scenarios, &cfg->scenarios, why);
	if (ret)
		return ret;
	if (!*impl) {
		cfg->impl = PRT_IMPL_ASIS;
	} else if (!strcmp(impl, "c")) {
		cfg->impl = PRT_IMPL_C;
	} else if (!strcmp(impl, "rust")) {
		if (!IS_ENABLED(CONFIG_PAGE_REF_EXTERN))
			return prt_bad(why, "impl=rust: this kernel has no CONFIG_PAGE_REF_EXTERN");
		cfg->impl = PRT_IMPL_RUST;
	} else {
		return prt_bad(why, "impl=%s: no such implementation (have c rust)", impl);
	}
	cfg->variant = -1;
	if (*variant) {
#ifdef CONFIG_PAGE_REF_TEST_VARIANTS
		cfg->variant = page_ref_test_variant_parse(variant);
		if (cfg->variant < 0)
			return prt_bad(why, "variant=%s: no such variant", variant);
#else
		if (strcmp(variant, "correct"))
			return prt_bad(why,
				       "variant=%s: this kernel has no CONFIG_PAGE_REF_TEST_VARIANTS",
				       variant);
#endif
	}
	if ((nthreads && prt_check_range("nthreads", nthreads, 2, 1024, why)) ||
	    prt_check_range("npages", npages, 1, 4096, why) ||
	    prt_check_range("duration", duration, 1, 86400, why) ||
	    prt_check_range("stat_interval", stat_interval, 0, 3600, why) ||
	    prt_check_range("delay_ns", delay_ns, 0, 100000, why) ||
	    prt_check_range("inject", inject, 0, 1000000, why))
		return -EINVAL;
	cfg->nthreads = nthreads;
	cfg->npages = npages;
	cfg->duration_ms = duration * MSEC_PER_SEC;
	cfg->stat_interval = stat_interval;
	cfg->delay_ns = delay_ns;
	cfg->inject = inject;
	cfg->stop_on_violation = stop_on_violation;
	return 0;
}

static int __init prt_init(void)
{
	char why[PRT_WHY_LEN] = "";
	int ret = prt_parse_params(&prt_load_cfg, why);

	if (ret) {
		pr_err("%s\n", why[0] ? why : "cannot start");
		return ret;
	}
	if (!prt_load_cfg.scenarios)
		return 0;
	pr_info("starting: scenarios=%s impl=%s variant=%s nthreads=%d npages=%d duration=%d delay_ns=%d inject=%d\n",
		scenarios, *impl ? impl : prt_impl_name(), *variant ? variant : prt_variant_name(),
		prt_threads(&prt_load_cfg), npages, duration, delay_ns, inject);
	ret = prt_start(&prt_load_cfg);
	if (ret)
		return ret;
	if (wait)
		wait_for_completion_killable(&prt_ctl_done);
	return 0;
}

static void __exit prt_exit(void)
{
	prt_stop();
}

module_init(prt_init);
module_exit(prt_exit);

#if IS_ENABLED(CONFIG_KUNIT)
#include <kunit/test.h>

/*
 * The short run of `make test`: each scenario for 1.5 s with each
 * implementation, and each broken variant against the scenario meant to
 * catch it. The suite is marked slow, so that a boot can leave it out with
 * kunit.filter=speed>slow (scripts/kunit's variant boots do).
 */
static void prt_kunit_need_impl(struct kunit *test, enum prt_impl impl)
{
	if (impl == PRT_IMPL_RUST && !IS_ENABLED(CONFIG_PAGE_REF_EXTERN))
		kunit_skip(test, "no CONFIG_PAGE_REF_EXTERN: the kernel's refcount is C only");
}

static struct prt_result prt_kunit_run(struct kunit *test, enum prt_scenario sc,
				       enum prt_impl impl, int variant)
{
	struct prt_cfg cfg = {
		.scenarios = BIT(sc),
		.npages = 4,
		.duration_ms = 1500,
		.delay_ns = 2000,
		.inject = 2,
		.impl = impl,
		.variant = variant,
		.stop_on_violation = variant > 0,
	};
	struct prt_result res = { };
	long held = atomic_long_read(&prt_held);

	if (!mutex_trylock(&prt_lock))
		kunit_skip(test, "a torture run started at load is in progress");
	KUNIT_EXPECT_EQ(test, prt_run_scenario(&cfg, sc, &res), 0);
	mutex_unlock(&prt_lock);
	KUNIT_EXPECT_GT(test, res.st[PRT_OPS], 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&prt_held), held);
	return res;
}

struct prt_kunit_scenario {
	enum prt_scenario sc;
	enum prt_impl impl;
};

static const struct prt_kunit_scenario prt_kunit_scenarios[] = {
	{ PRT_R1, PRT_IMPL_C }, { PRT_R1, PRT_IMPL_RUST },
	{ PRT_R2, PRT_IMPL_C }, { PRT_R2, PRT_IMPL_RUST },
	{ PRT_R3, PRT_IMPL_C }, { PRT_R3, PRT_IMPL_RUST },
	{ PRT_R4, PRT_IMPL_C }, { PRT_R4, PRT_IMPL_RUST },
	{ PRT_R5, PRT_IMPL_C }, { PRT_R5, PRT_IMPL_RUST },
	{ PRT_R6, PRT_IMPL_C }, { PRT_R6, PRT_IMPL_RUST },
	{ PRT_R7, PRT_IMPL_C }, { PRT_R7, PRT_IMPL_RUST },
	{ PRT_R7B, PRT_IMPL_C }, { PRT_R7B, PRT_IMPL_RUST },
	{ PRT_MIXED, PRT_IMPL_C }, { PRT_MIXED, PRT_IMPL_RUST },
};

static const char *prt_kunit_impl_name(enum prt_impl impl)
{
	return impl == PRT_IMPL_RUST ? "rust" : "c";
}

static void prt_kunit_scenario_desc(const struct prt_kunit_scenario *p, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s %s", prt_scenario_names[p->sc],
		 prt_kunit_impl_name(p->impl));
}

KUNIT_ARRAY_PARAM(prt_kunit_scenarios, prt_kunit_scenarios, prt_kunit_scenario_desc);

static void prt_kunit_scenario(struct kunit *test)
{
	const struct prt_kunit_scenario *p = test->param_value;
	struct prt_result res;

	prt_kunit_need_impl(test, p->impl);
	res = prt_kunit_run(test, p->sc, p->impl, -1);
	KUNIT_EXPECT_EQ(test, res.violations, 0);
}

/* Unloading mid-run: the run stops, every page it held is freed. */
static void prt_kunit_stop_early(struct kunit *test)
{
	struct prt_cfg cfg = {
		.scenarios = BIT(PRT_MIXED),
		.npages = 4,
		.duration_ms = 60 * MSEC_PER_SEC,
		.delay_ns = 2000,
		.inject = 2,
		.impl = PRT_IMPL_ASIS,
		.variant = -1,
	};
	long held = atomic_long_read(&prt_held);

	if (prt_ctl)
		kunit_skip(test, "a torture run started at load is in progress");
	KUNIT_ASSERT_EQ(test, prt_start(&cfg), 0);
	msleep(500);
	KUNIT_EXPECT_GT(test, atomic_long_read(&prt_held), held);
	prt_stop();
	KUNIT_EXPECT_TRUE(test, completion_done(&prt_ctl_done));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&prt_held), held);
}

/*
 * Each bad parameter fails the load with -EINVAL and a message naming it.
 * The parameters are the module's own variables: each case sets one, parses
 * and puts the old value back (a run started at load copied them already).
 */
struct prt_kunit_bad_param {
	const char *name;	/* what the message must start with */
	char **str;
	const char *str_value;
	int *num;
	int num_value;
};

static const struct prt_kunit_bad_param prt_kunit_bad_params[] = {
	{ "scenarios=", &scenarios, "r1,r9" },
	{ "impl=", &impl, "java" },
	{ "variant=", &variant, "no_such_bug" },
	{ "nthreads=", NULL, NULL, &nthreads, 1 },
	{ "nthreads=", NULL, NULL, &nthreads, 2000 },
	{ "npages=", NULL, NULL, &npages, 0 },
	{ "npages=", NULL, NULL, &npages, 5000 },
	{ "duration=", NULL, NULL, &duration, 0 },
	{ "stat_interval=", NULL, NULL, &stat_interval, -1 },
	{ "delay_ns=", NULL, NULL, &delay_ns, 100001 },
	{ "inject=", NULL, NULL, &inject, -2 },
};

static void prt_kunit_bad_param_desc(const struct prt_kunit_bad_param *p, char *desc)
{
	if (p->str)
		snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s%s", p->name, p->str_value);
	else
		snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s%d", p->name, p->num_value);
}

KUNIT_ARRAY_PARAM(prt_kunit_bad_params, prt_kunit_bad_params, prt_kunit_bad_param_desc);

static void prt_kunit_bad_param(struct kunit *test)
{
	const struct prt_kunit_bad_param *p = test->param_value;
	char why[PRT_WHY_LEN] = "";
	struct prt_cfg cfg;
	char *old_str = NULL;
	int old_num = 0, ret;

	if (p->str) {
		old_str = *p->str;
		*p->str = (char *)p->str_value;
	} else {
		old_num = *p->num;
		*p->num = p->num_value;
	}
	ret = prt_parse_params(&cfg, why);
	if (p->str)
		*p->str = old_str;
	else
		*p->num = old_num;
	KUNIT_EXPECT_EQ(test, ret, -EINVAL);
	KUNIT_EXPECT_TRUE_MSG(test, str_has_prefix(why, p->name), "message: %s", why);
}

/* And the defaults, which a load without parameters uses, are good. */
static void prt_kunit_default_params(struct kunit *test)
{
	char why[PRT_WHY_LEN] = "";
	struct prt_cfg cfg;
	char *old = scenarios;

	scenarios = "all";
	KUNIT_EXPECT_EQ_MSG(test, prt_parse_params(&cfg, why), 0, "message: %s", why);
	scenarios = old;
	KUNIT_EXPECT_EQ(test, cfg.scenarios, BIT(PRT_NR_SCENARIOS) - 1);
}

#ifdef CONFIG_PAGE_REF_TEST_VARIANTS
struct prt_kunit_variant {
	int variant;
	enum prt_scenario sc;
	enum prt_impl impl;
};

/*
 * Each broken variant, with the C and with the Rust get and put (freeze,
 * unfreeze and make_ownerless are the C code's in either case), and the
 * scenario meant to catch it. The variants that only weaken a memory ordering are not
 * here: they change no instruction on x86_64 and nothing a TCG guest can
 * observe (loom and scripts/disasm-check cover them).
 */
static const struct prt_kunit_variant prt_kunit_variants[] = {
	{ PAGE_REF_CLAIM_WITHOUT_CAS, PRT_R1, PRT_IMPL_C },
	{ PAGE_REF_CLAIM_WITHOUT_CAS, PRT_R1, PRT_IMPL_RUST },
	{ PAGE_REF_OWNERLESS_STORES_ZERO, PRT_R5, PRT_IMPL_C },
	{ PAGE_REF_OWNERLESS_STORES_ZERO, PRT_R5, PRT_IMPL_RUST },
	{ PAGE_REF_NO_OVERFLOW_GUARD, PRT_R6, PRT_IMPL_C },
	{ PAGE_REF_NO_OVERFLOW_GUARD, PRT_R6, PRT_IMPL_RUST },
	{ PAGE_REF_FREEZE_STORES_ZERO, PRT_R3, PRT_IMPL_C },
	{ PAGE_REF_FREEZE_STORES_ZERO, PRT_R3, PRT_IMPL_RUST },
	{ PAGE_REF_UNFREEZE_ADDS, PRT_R4, PRT_IMPL_C },
	{ PAGE_REF_UNFREEZE_ADDS, PRT_R4, PRT_IMPL_RUST },
};

static void prt_kunit_variant_desc(const struct prt_kunit_variant *v, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s %s caught by %s",
		 page_ref_test_variant_names[v->variant], prt_kunit_impl_name(v->impl),
		 prt_scenario_names[v->sc]);
}

KUNIT_ARRAY_PARAM(prt_kunit_variants, prt_kunit_variants, prt_kunit_variant_desc);

static void prt_kunit_variant(struct kunit *test)
{
	const struct prt_kunit_variant *v = test->param_value;
	struct prt_result res;

	prt_kunit_need_impl(test, v->impl);
	res = prt_kunit_run(test, v->sc, v->impl, v->variant);
	KUNIT_EXPECT_GT(test, res.violations, 0);
}
#endif

static struct kunit_case prt_kunit_cases[] = {
	KUNIT_CASE_PARAM(prt_kunit_scenario, prt_kunit_scenarios_gen_params),
	KUNIT_CASE(prt_kunit_stop_early),
	KUNIT_CASE_PARAM(prt_kunit_bad_param, prt_kunit_bad_params_gen_params),
	KUNIT_CASE(prt_kunit_default_params),
#ifdef CONFIG_PAGE_REF_TEST_VARIANTS
	KUNIT_CASE_PARAM(prt_kunit_variant, prt_kunit_variants_gen_params),
#endif
	{}
};

static struct kunit_suite prt_kunit_suite = {
	.name = "page_ref_torture",
	.test_cases = prt_kunit_cases,
	.attr = { .speed = KUNIT_SPEED_SLOW },
};

kunit_test_suite(prt_kunit_suite);
#endif /* CONFIG_KUNIT */

MODULE_DESCRIPTION("Race harness for the page refcount (pageref)");
MODULE_LICENSE("GPL");
