# Runs one of NNabla's MNIST classifier programs (LeNet or ResNet, built on
# nnvae::nbla_compat) twice in one mode and checks what it does, as NNabla's
# build of it would:
#   1. in a folder holding the four MNIST .gz files (DATA: "fixture", written
#      by CHECK, or "mnist", links to the real files in MNIST) and no earlier
#      parameters: a message that none were found, one monitor line
#      `iter: N, tloss: X, verr: Y` per 10 iterations on stdout (N counts from
#      0 in LeNet, from 1 in ResNet) and the same lines in log.txt, a training
#      loss that falls (with two lines or more), an error rate in [0, 1], and
#      the snapshot file (saved_<model>_param[_d].protobuf) holding the
#      model's parameters;
#   2. with that snapshot copied to the file the program loads
#      (<model>_param[_d].protobuf): the program says it loaded it and its
#      first training loss is below the first run's.
# Arguments: PROGRAM, CHECK, MODEL (lenet|resnet), MODE (static|dynamic),
# DATA, MNIST, ITERATIONS, WORK.

function(fail what)
  message(FATAL_ERROR "NNabla's ${MODEL} program --${MODE} on ${DATA}: ${what}")
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

# A value printed with "%f" (digits, a point, six digits) in millionths, as
# an integer CMake can compare; anything else (nan, inf) fails.
function(millionths value result)
  if(NOT value MATCHES "^[0-9]+\\.[0-9][0-9][0-9][0-9][0-9][0-9]$")
    fail("'${value}' is not a finite value >= 0")
  endif()
  string(REPLACE "." "" digits "${value}")
  string(REGEX REPLACE "^0+([0-9])" "\\1" digits "${digits}")
  set(${result} ${digits} PARENT_SCOPE)
endfunction()

# The monitor lines of `text`; sets <prefix>_lines, <prefix>_t0 and
# <prefix>_t1 (first and last training loss, in millionths).
function(monitor_lines text prefix)
  string(REGEX MATCHALL "iter: [0-9]+, tloss: [^,\n]+, verr: [^\n]+\n" lines "${text}")
  list(LENGTH lines n)
  math(EXPR expected "${ITERATIONS} / 10")
  if(NOT n EQUAL expected)
    fail("${n} monitor lines instead of ${expected}")
  endif()
  set(k 0)
  foreach(line ${lines})
    string(REGEX REPLACE "iter: ([0-9]+), tloss: ([^,]+), verr: ([^\n]+)\n" "\\1;\\2;\\3" fields "${line}")
    list(GET fields 0 iter)
    list(GET fields 1 tloss)
    list(GET fields 2 verr)
    math(EXPR k "${k} + 1")
    math(EXPR want "${k} * 10 - ${first_iter_offset}")
    if(NOT iter EQUAL want)
      fail("monitor line ${k} is for iter ${iter}, expected ${want}")
    endif()
    millionths(${tloss} t)
    millionths(${verr} v)
    if(v GREATER 1000000)
      fail("verr ${verr} is not an error rate")
    endif()
    if(k EQUAL 1)
      set(${prefix}_t0 ${t} PARENT_SCOPE)
    endif()
    set(${prefix}_t1 ${t} PARENT_SCOPE)
  endforeach()
  set(${prefix}_lines "${lines}" PARENT_SCOPE)
  set(${prefix}_n ${n} PARENT_SCOPE)
endfunction()

if(MODEL STREQUAL "lenet")
  set(first_iter_offset 1)  # LeNet prints iter + 0 after iteration 10: "iter: 9"
  set(n_params 8)
else()
  set(first_iter_offset 0)  # ResNet prints iter + 1: "iter: 10"
  set(n_params 82)
endif()
if(MODE STREQUAL "static")
  set(suffix "")
  set(banner "Execute training with static graph")
else()
  set(suffix "_d")
  set(banner "Execute training with dynamic graph")
endif()
set(saved saved_${MODEL}_param${suffix}.protobuf)
set(loaded ${MODEL}_param${suffix}.protobuf)

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
if(out_n GREATER 1 AND NOT out_t1 LESS out_t0)
  fail("the training loss does not fall: ${out_t0} -> ${out_t1} (millionths)")
endif()
execute_process(COMMAND ${CHECK} params ${MODEL} ${WORK}/${saved} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE out)
message("--- ${CHECK} params ${MODEL} ${saved}\n${out}")
if(NOT rc EQUAL 0)
  fail("${saved} does not hold the ${MODEL} parameters as the program creates them")
endif()

# 2. Picking up earlier parameters.
execute_process(COMMAND ${CMAKE_COMMAND} -E copy ${WORK}/${saved} ${WORK}/${loaded})
run_program(second)
if(NOT second_out MATCHES "load_parameters: loaded ${n_params} parameters from ${loaded}")
  fail("the second run does not say it loaded ${n_params} parameters from ${loaded}")
endif()
monitor_lines("${second_out}" again)
if(NOT again_t0 LESS out_t0)
  fail("the second run starts at tloss ${again_t0}, not below the first run's ${out_t0} (millionths)")
endif()
message("NNabla's ${MODEL} program --${MODE} on ${DATA}: tloss ${out_t0} -> ${out_t1} (millionths), "
        "resumed from ${loaded} at ${again_t0}")
