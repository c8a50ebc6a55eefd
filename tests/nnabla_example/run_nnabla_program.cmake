# Runs one of NNabla's MNIST programs (built on nnvae::nbla_compat) twice in
# one mode and checks what it does, as NNabla's build of it would:
#   1. in a folder holding the four MNIST .gz files (DATA: "fixture", written
#      by CHECK, or "mnist", links to the real files in MNIST) and no earlier
#      parameters: the banner of the mode, a message that no parameters were
#      found, LINES monitor lines `iter: N, A: X, B: Y` on stdout (FIELDS
#      names A and B; N runs FIRST_ITER, FIRST_ITER + STEP, ...) and the same
#      lines in log.txt, every value finite and >= 0, those named in RATES at
#      most 1, those named in FALLING lower on the last line than on the first
#      (when there are two lines or more), and the snapshot file
#      (saved_<MODEL>_param[_d].protobuf) holding the model's parameters as
#      CHECK knows them; when PICTURE_ROWS is set, that many rows of 56 digits
#      0/1 (the generated images the program prints at its end);
#   2. with that snapshot copied to the file the program loads
#      (<MODEL>_param[_d].protobuf): the program says it loaded all of them,
#      and the field RESUMED on its first monitor line is below the first
#      run's (when RESUMED is set).
# Arguments: PROGRAM, CHECK, MODEL, MODE (static|dynamic), DATA, MNIST, WORK,
# LINES, FIRST_ITER, STEP, FIELDS, FALLING, RATES, RESUMED, PICTURE_ROWS
# (FIELDS, FALLING and RATES are comma-separated).

function(fail what)
  message(FATAL_ERROR "NNabla's ${MODEL} program --${MODE} on ${DATA}: ${what}")
endfunction()

string(REPLACE "," ";" FIELDS "${FIELDS}")
string(REPLACE "," ";" FALLING "${FALLING}")
string(REPLACE "," ";" RATES "${RATES}")
list(GET FIELDS 0 field_a)
list(GET FIELDS 1 field_b)

# Runs the program in WORK; sets <prefix>_out (stdout) and <prefix>_err.
function(run_program prefix)
  execute_process(COMMAND ${PROGRAM} --${MODE} WORKING_DIRECTORY ${WORK}
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  # (Rows of digits only, the printed images, are left out of the log.)
  string(REPLACE "\n" ";" out_lines "${out}")
  list(FILTER out_lines EXCLUDE REGEX "^[01]+$")
  list(JOIN out_lines "\n" shown)
  message("--- run: ${PROGRAM} --${MODE}\n${shown}\n${err}")
  if(NOT rc EQUAL 0)
    fail("exited with ${rc}")
  endif()
  set(${prefix}_out "${out}" PARENT_SCOPE)
  set(${prefix}_err "${err}" PARENT_SCOPE)
endfunction()

# A value printed with "%f" (digits, a point, six digits) in millionths, as
# an integer CMake can compare; anything else (nan, inf, a sign) fails.
function(millionths value result)
  if(NOT value MATCHES "^[0-9]+\\.[0-9][0-9][0-9][0-9][0-9][0-9]$")
    fail("'${value}' is not a finite value >= 0")
  endif()
  string(REPLACE "." "" digits "${value}")
  # Without leading zeros (REGEX REPLACE "^0+" would not do: CMake matches
  # "^" again after each replacement, and "0.100500" would give 150).
  string(REGEX MATCH "[1-9][0-9]*" digits "${digits}")
  if(digits STREQUAL "")
    set(digits 0)
  endif()
  set(${result} ${digits} PARENT_SCOPE)
endfunction()

# The monitor lines of `text`; sets <prefix>_lines, and <prefix>_<field>_first
# and <prefix>_<field>_last (in millionths) for both fields.
function(monitor_lines text prefix)
  set(pattern "iter: ([0-9]+), ${field_a}: ([^,\n]+), ${field_b}: ([^\n]+)\n")
  string(REGEX MATCHALL "${pattern}" lines "${text}")
  list(LENGTH lines n)
  if(NOT n EQUAL LINES)
    fail("${n} monitor lines `iter: N, ${field_a}: X, ${field_b}: Y` instead of ${LINES}")
  endif()
  set(k 0)
  foreach(line ${lines})
    string(REGEX REPLACE "${pattern}" "\\1;\\2;\\3" values "${line}")
    list(GET values 0 iter)
    math(EXPR want "${FIRST_ITER} + ${k} * ${STEP}")
    if(NOT iter EQUAL want)
      fail("monitor line ${k} is for iter ${iter}, expected ${want}")
    endif()
    foreach(i 0 1)
      list(GET FIELDS ${i} field)
      math(EXPR j "${i} + 1")
      list(GET values ${j} value)
      millionths(${value} m)
      if(field IN_LIST RATES AND m GREATER 1000000)
        fail("${field} ${value} is not a rate")
      endif()
      if(k EQUAL 0)
        set(${prefix}_${field}_first ${m} PARENT_SCOPE)
      endif()
      set(${prefix}_${field}_last ${m} PARENT_SCOPE)
    endforeach()
    math(EXPR k "${k} + 1")
  endforeach()
  set(${prefix}_lines "${lines}" PARENT_SCOPE)
endfunction()

if(MODE STREQUAL "static")
  set(suffix "")
else()
  set(suffix "_d")
endif()
set(saved saved_${MODEL}_param${suffix}.protobuf)
set(loaded ${MODEL}_param${suffix}.protobuf)

file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
if(DATA STREQUAL "fixture")
  execute_process(COMMAND ${CHECK} write-fixture ${WORK} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    fail("could not write the MNIST fixture")
  endif()
else()
  foreach(f train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz
            t10k-labels-idx1-ubyte.gz)
    file(CREATE_LINK ${MNIST}/${f} ${WORK}/${f} SYMBOLIC)
  endforeach()
endif()

# 1. A fresh start.
run_program(first)
if(NOT first_out MATCHES "^Execute training with ${MODE} graph\n")
  fail("stdout does not start with 'Execute training with ${MODE} graph'")
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
if(LINES GREATER 1)
  foreach(field ${FALLING})
    if(NOT out_${field}_last LESS out_${field}_first)
      fail("${field} does not fall: ${out_${field}_first} -> ${out_${field}_last} (millionths)")
    endif()
  endforeach()
endif()
if(PICTURE_ROWS)
  string(REPLACE "\n" ";" rows "${first_out}")
  list(FILTER rows INCLUDE REGEX "^[01]+$")
  list(LENGTH rows n_rows)
  string(REPEAT "[01]" 56 row_pattern)  # 28 pixels, each printed as two digits
  list(FILTER rows INCLUDE REGEX "^${row_pattern}$")
  list(LENGTH rows right_rows)
  if(NOT n_rows EQUAL PICTURE_ROWS OR NOT right_rows EQUAL PICTURE_ROWS)
    fail("${n_rows} rows of printed images (${right_rows} of 56 digits) instead of ${PICTURE_ROWS}")
  endif()
endif()
execute_process(COMMAND ${CHECK} params ${MODEL} ${WORK}/${saved} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE out)
message("--- ${CHECK} params ${MODEL} ${saved}\n${out}")
if(NOT rc EQUAL 0)
  fail("${saved} does not hold the ${MODEL} parameters as the program creates them")
endif()
string(REGEX MATCH ": ([0-9]+) parameters, " _ "${out}")
set(n_params ${CMAKE_MATCH_1})

# 2. Picking up earlier parameters.
execute_process(COMMAND ${CMAKE_COMMAND} -E copy ${WORK}/${saved} ${WORK}/${loaded})
run_program(second)
if(NOT second_out MATCHES "load_parameters: loaded ${n_params} parameters from ${loaded}")
  fail("the second run does not say it loaded ${n_params} parameters from ${loaded}")
endif()
monitor_lines("${second_out}" again)
if(RESUMED AND NOT again_${RESUMED}_first LESS out_${RESUMED}_first)
  fail("the second run starts at ${RESUMED} ${again_${RESUMED}_first}, not below the first run's "
       "${out_${RESUMED}_first} (millionths)")
endif()
message("NNabla's ${MODEL} program --${MODE} on ${DATA}: ${field_a} ${out_${field_a}_first} -> "
        "${out_${field_a}_last}, ${field_b} ${out_${field_b}_first} -> ${out_${field_b}_last} (millionths); "
        "resumed from ${loaded} at ${field_a} ${again_${field_a}_first}, ${field_b} ${again_${field_b}_first}")
