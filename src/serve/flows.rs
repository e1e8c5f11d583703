//! The flows a sidecar serves: every mapping under `--mappings`, compiled, by name. Reloaded on
//! SIGHUP or when a file changes; a set with any error is refused and the old one keeps serving.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use crate::engine::{CompileOptions, Plan};

/// One loaded set of flows.
#[derive(Default)]
pub struct FlowSet {
    pub flows: HashMap<String, Arc<Plan>>,
}

impl FlowSet {
    /// Compile every mapping under `dir` (profiles in `vendors/` are read through the flows
    /// that use them). All errors are returned, each located.
    pub fn load(dir: &Path, only: &[String]) -> Result<FlowSet, Vec<String>> {
        let files = crate::review::mapping_files(&[dir.to_path_buf()]);
        if files.is_empty() {
            return Err(vec![format!("no mapping files under {}", dir.display())]);
        }
        let mut flows = HashMap::new();
        let mut errors = Vec::new();
        for f in files {
            let loaded = match crate::mapping::load(&f) {
                Ok(l) => l,
                Err(e) => {
                    errors.push(e.to_string());
                    continue;
                }
            };
            if !only.is_empty() && !only.contains(&loaded.mapping.name) {
                continue;
            }
            match Plan::compile(&loaded, CompileOptions::default()) {
                Ok(plan) => {
                    if flows.contains_key(&plan.name) {
                        errors.push(format!(
                            "{}: a second flow named `{}`: flow names must be unique",
                            f.display(),
                            plan.name
                        ));
                    } else {
                        flows.insert(plan.name.clone(), Arc::new(plan));
                    }
                }
                Err(es) => errors.extend(es.iter().map(|e| e.to_string())),
            }
        }
        for name in only {
            if !flows.contains_key(name) && !errors.iter().any(|e| e.contains(name.as_str())) {
                errors.push(format!(
                    "--flow {name}: no flow of that name under {}",
                    dir.display()
                ));
            }
        }
        if errors.is_empty() {
            Ok(FlowSet { flows })
        } else {
            Err(errors)
        }
    }
}

/// The current flows, swapped whole on reload.
#[derive(Clone)]
pub struct Flows {
    dir: PathBuf,
    only: Vec<String>,
    current: Arc<RwLock<Arc<FlowSet>>>,
    /// Counts the reloads, so that a thread can tell whether the set it holds is still the
    /// current one (see [`Flows::with`]).
    generation: Arc<AtomicU64>,
    /// Tells this `Flows` (and its clones) from any other of the process.
    id: u64,
}

/// The set of flows a thread used last, and which `Flows` and generation it came from.
struct Held {
    owner: u64,
    generation: u64,
    set: Arc<FlowSet>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
}

impl Flows {
    pub fn new(dir: PathBuf, only: Vec<String>, set: FlowSet) -> Flows {
        Flows {
            dir,
            only,
            current: Arc::new(RwLock::new(Arc::new(set))),
            generation: Arc::default(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// `f` of the flow named `name`, without taking a reference to it.
    ///
    /// [`Flows::get`] counts a reference on the lock and on the plan, which both worker threads
    /// share: each request then moves their cache lines from one core to the other. Here a
    /// thread keeps the set it used last and only reads the generation, which changes on
    /// reloads alone. `f` must not wait: call it again after an `.await` (a reload may have
    /// come in between).
    pub fn with<R>(&self, name: &str, f: impl FnOnce(&Plan) -> R) -> Option<R> {
        // Read before the set: a set taken after a reload and labelled with the generation
        // before it is only taken again next time.
        let generation = self.generation.load(Ordering::Acquire);
        let owner = self.id;
        HELD.with(|held| {
            let fresh = |h: &Option<Held>| {
                h.as_ref()
                    .is_some_and(|h| h.owner == owner && h.generation == generation)
            };
            if !fresh(&held.borrow()) {
                match held.try_borrow_mut() {
                    Ok(mut h) => {
                        *h = Some(Held {
                            owner,
                            generation,
                            set: self.snapshot(),
                        })
                    }
                    // Called from within `f`: the plain way.
                    Err(_) => return self.get(name).map(|p| f(&p)),
                }
            }
            let h = held.borrow();
            let plan = h.as_ref().and_then(|h| h.set.flows.get(name))?;
            Some(f(plan))
        })
    }

    /// The flow named `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Plan>> {
        self.snapshot().flows.get(name).cloned()
    }

    /// The whole current set.
    pub fn snapshot(&self) -> Arc<FlowSet> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Load the mappings again; on success they replace the current ones.
    pub fn reload(&self) -> Result<usize, Vec<String>> {
        let set = FlowSet::load(&self.dir, &self.only)?;
        let n = set.flows.len();
        match self.current.write() {
            Ok(mut g) => *g = Arc::new(set),
            Err(p) => *p.into_inner() = Arc::new(set),
        }
        self.generation.fetch_add(1, Ordering::Release);
        Ok(n)
    }

    /// Every file under the mappings directory with its size and modification time: any
    /// difference (an edit, a new file, a deleted one) means a reload.
    pub fn stamp(&self) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, u64, Option<SystemTime>)>) {
            let Ok(rd) = std::fs::read_dir(dir) else {
                return;
            };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if let Ok(m) = std::fs::metadata(&p) {
                    out.push((p, m.len(), m.modified().ok()));
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.dir, &mut out);
        out.sort();
        out
    }
}
