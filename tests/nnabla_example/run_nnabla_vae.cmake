# Runs NNabla's VAE program (built on nnvae::nbla_compat) twice in one mode
# and checks what it does, as NNabla's build of it would:
#   1. in a folder holding the four MNIST .gz files (DATA: "fixture", written
#      by CHECK, or "mnist", links to the real files in MNIST) and no earlier
#      parameters: a message that none were found, one monitor line
#      `iter: N, tloss: X, vloss: Y` per 10 iterations on stdout and the same
#      lines in log.txt, losses that fall, and the snapshot file
#      (saved_vae_param[_d].protobuf) holding the 14 parameters;
#   2. with that snapshot copied to the file the program loads
#      (vae_param[_d].protobuf): the program says it loaded it and its first
#      training loss is below the first run's.
# Arguments: PROGRAM, CHECK, MODE (static|dynamic), DATA, MNIST, ITERATIONS, WORK.

function(fail what)
  message(FATAL_ERROR "NNabla's VAE program --${MODE} on ${DATA}: ${what}")
endfunction()

# Runs the program in WORK; sets <prefix>_out (stdout) and <prefix>_err.
function(run_program prefix)
  execute_process(COMMAND ${PROGRAM} --${MODE} WORKING_DIRECTORY ${WORK}
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  message("--- run: ${PROGRAM} --${MODE}\n${out}${err}")
  if(NOT rc EQUAL 0)
    fail("exited with ${rc}")
  endif()
  set(${prefix}_out "${out}" PARENT_SCOPE)
  set(${prefix}_err "${err}" PARENT_SCOPE)
endfunction()

# The monitor lines of `text`, and the first/last training and validation losses.
function(monitor_lines text prefix)
  string(REGEX MATCHALL "iter: [0-9]+, tloss: [-0-9.naif]+, vloss: [-0-9.naif]+\n" lines "${text}")
  list(LENGTH lines n)
  math(EXPR expected "${ITERATIONS} / 10")
  if(NOT n EQUAL expected)
    fail("${n} monitor lines instead of ${expected}")
  endif()
  list(GET lines 0 first)
  list(GET lines -1 last)
  string(REGEX REPLACE "iter: ([0-9]+), tloss: ([^,]+), vloss: ([^\n]+)\n" "\\1;\\2;\\3" first "${first}")
  string(REGEX REPLACE "iter: ([0-9]+), tloss: ([^,]+), vloss: ([^\n]+)\n" "\\1;\\2;\\3" last "${last}")
  list(GET first 0 first_iter)
  list(GET last 0 last_iter)
  math(EXPR expected_last "${ITERATIONS} - 1")
  if(NOT first_iter EQUAL 9 OR NOT last_iter EQUAL expected_last)
    fail("monitor lines run from iter ${first_iter} to ${last_iter}, expected 9 to ${expected_last}")
  endif()
  list(GET first 1 t0)
  list(GET last 1 t1)
  list(GET first 2 v0)
  list(GET last 2 v1)
  set(${prefix}_lines "${lines}" PARENT_SCOPE)
  set(${prefix}_t0 ${t0} PARENT_SCOPE)
  set(${prefix}_t1 ${t1} PARENT_SCOPE)
  set(${prefix}_v0 ${v0} PARENT_SCOPE)
  set(${prefix}_v1 ${v1} PARENT_SCOPE)
endfunction()

# a < b for the decimal numbers the program prints, by their integer parts
# (CMake compares integers only).
function(less_than a b result)
  string(REGEX REPLACE "\\..*" "" ia "${a}")
  string(REGEX REPLACE "\\..*" "" ib "${b}")
  if(ia LESS ib)
    set(${result} TRUE PARENT_SCOPE)
  else()
    set(${result} FALSE PARENT_SCOPE)
  endif()
endfunction()

if(MODE STREQUAL "static")
  set(saved saved_vae_param.protobuf)
  set(loaded vae_param.protobuf)
  set(banner "Execute training with static graph")
else()
  set(saved saved_vae_param_d.protobuf)
  set(loaded vae_param_d.protobuf)
  set(banner "Execute training with dynamic graph")
endif()

file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
set(files train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)
if(DATA STREQUAL "fixture")
  execute_process(COMMAND ${CHECK} write-fixture ${WORK} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    fail("could not write the MNIST fixture")
  endif()
else()
  foreach(f ${files})
    file(CREATE_LINK ${MNIST}/${f} ${WORK}/${f} SYMBOLIC)
  endforeach()
endif()

# 1. A fresh start.
run_program(first)
if(NOT first_out MATCHES "^${banner}\n")
  fail("stdout does not start with '${banner}'")
endif()
if(NOT first_err MATCHES "${loaded} does not exist; starting from fresh parameters")
  fail("no message that ${loaded} does not exist")
endif()
monitor_lines("${first_out}" out)
file(READ ${WORK}/log.txt log)
monitor_lines("${log}" log)
if(NOT out_lines STREQUAL log_lines)
  fail("log.txt does not hold the monitor lines printed on stdout")
endif()
less_than(${out_t1} ${out_t0} t_falls)
less_than(${out_v1} ${out_v0} v_falls)
if(NOT t_falls OR NOT v_falls)
  fail("losses do not fall: tloss ${out_t0} -> ${out_t1}, vloss ${out_v0} -> ${out_v1}")
endif()
execute_process(COMMAND ${CHECK} params ${WORK}/${saved} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("--- ${CHECK} params ${saved}\n${out}")
if(NOT rc EQUAL 0)
  fail("${saved} does not hold the VAE's 14 parameters")
endif()

# 2. Picking up earlier parameters.
execute_process(COMMAND ${CMAKE_COMMAND} -E copy ${WORK}/${saved} ${WORK}/${loaded})
run_program(second)
if(NOT second_out MATCHES "load_parameters: loaded 14 parameters from ${loaded}")
  fail("the second run does not say it loaded ${loaded}")
endif()
monitor_lines("${second_out}" again)
less_than(${again_t0} ${out_t0} resumed)
if(NOT resumed)
  fail("the second run starts at tloss ${again_t0}, not below the first run's ${out_t0}")
endif()
message("NNabla's VAE program --${MODE} on ${DATA}: tloss ${out_t0} -> ${out_t1}, vloss ${out_v0} -> ${out_v1}; "
        "resumed from ${loaded} at tloss ${again_t0}")
